/**
 * Distinguished names, OIDs and URLs of the simulated PKI. The attribute order
 * and string types copy Intel's (CN, O, L, ST as UTF8String; C as
 * PrintableString) so name comparison and parsing behave as with real
 * certificates, while every CN says "Simulated" so nobody mistakes them for
 * Intel's.
 */
import type { JsonNameParams } from '@peculiar/x509';

export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

export const ORGANIZATION = 'kubetee simulated SGX platform (not Intel)';

export const COMMON_NAMES = {
  root: 'Kubetee Simulated SGX Root CA',
  processor: 'Kubetee Simulated SGX PCK Processor CA',
  platform: 'Kubetee Simulated SGX PCK Platform CA',
  pckLeaf: 'Kubetee Simulated SGX PCK Certificate',
  tcbSigning: 'Kubetee Simulated SGX TCB Signing',
} as const;

/** `.invalid` (RFC 2606) so no distribution point can ever resolve to a real host. */
export const CRL_URLS = {
  root: 'https://pcs.kubetee-sim.invalid/sgx/certification/v4/rootcacrl',
  processor: 'https://pcs.kubetee-sim.invalid/sgx/certification/v4/pckcrl?ca=processor&encoding=der',
  platform: 'https://pcs.kubetee-sim.invalid/sgx/certification/v4/pckcrl?ca=platform&encoding=der',
} as const;

export function distinguishedName(commonName: string): JsonNameParams {
  return [
    { '2.5.4.3': [{ utf8String: commonName }] },
    { '2.5.4.10': [{ utf8String: ORGANIZATION }] },
    { '2.5.4.7': [{ utf8String: 'Santa Clara' }] },
    { '2.5.4.8': [{ utf8String: 'CA' }] },
    { '2.5.4.6': [{ printableString: 'US' }] },
  ];
}
