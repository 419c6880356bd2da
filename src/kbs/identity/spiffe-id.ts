import type { AttestationClaims } from '../policy/claims.js';
import { IdentityError } from './errors.js';

/** SPIFFE-ID.md: lowercase letters, digits, '.', '-', '_'; at most 255 bytes. */
export function checkTrustDomain(td: string): string {
  if (!/^[a-z0-9._-]{1,255}$/.test(td)) {
    throw new IdentityError('IDENTITY_CA_INVALID', `"${td}" is not a SPIFFE trust domain`, { hint: 'use lowercase letters, digits, ".", "-" and "_" only, e.g. kubetee.example' });
  }
  return td;
}

/**
 * The SPIFFE ID of an attested SGX enclave:
 * `spiffe://<td>/sgx/mrsigner/<MRSIGNER>/mrenclave/<MRENCLAVE>`.
 *
 * The path is built only from verified claims. The workload names nothing: a
 * path it could choose (a namespace, a service account) would be an unverified
 * assertion. `ns/<ns>/sa/<sa>` needs a Kubernetes identity the broker has
 * verified itself (a ServiceAccount token checked with TokenReview and bound
 * to the attested session, issue 15 item 3); until then the measurement is the
 * identity, and a peer authorizes by the signer prefix or the exact enclave.
 */
export function spiffeIdFor(trustDomain: string, claims: AttestationClaims): string {
  if (claims.tee !== 'sgx') throw new IdentityError('IDENTITY_DENIED', `workload certificates are issued to SGX enclaves only, not ${claims.tee}`);
  if (!/^[0-9a-f]{64}$/.test(claims.mrsigner) || !/^[0-9a-f]{64}$/.test(claims.mrenclave)) throw new IdentityError('IDENTITY_DENIED', 'the attested measurements are not 32-byte hex values');
  return `spiffe://${trustDomain}/sgx/mrsigner/${claims.mrsigner}/mrenclave/${claims.mrenclave}`;
}
