/**
 * Assembles the collateral a PCS would publish for one platform at one
 * moment — Root CA CRL, PCK CRL, TCB Info, QE Identity and issuer chains — in
 * the dcap-qvl QuoteCollateralV3 JSON form, optionally with one fault.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash } from 'node:crypto';
import { toHex } from '../common/hex.js';
import { serialNumberBytes, subjectNameDer } from './cert-fields.js';
import { pemChain, qeIdentityText, signText, tcbInfoText } from './collateral.js';
import { buildCrl } from './crl.js';
import { SimError } from './errors.js';
import { COLLATERAL_TAMPERS, otherHex, strangerKey } from './faults.js';
import { invalid, resolveTcb } from './options.js';
import type { PlatformData } from './platform-data.js';
import { SIM_QE_ISV_PROD_ID, SIM_QE_MRSIGNER } from './quoting-enclave.js';
import { BASE_TCB_EVALUATION_DATA_NUMBER, midnight, recoveredTcb, tcbLevels, type TcbLevel } from './tcb-levels.js';
import type { QuoteCollateralV3Json, SimCollateralOptions, SimCollateralTamper } from './types.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Intel's observed windows: TCB Info, QE Identity and PCK CRL 30 days; Root CA CRL about a year. */
const COLLATERAL_VALIDITY_MS = 30 * DAY_MS;
const ROOT_CRL_VALIDITY_MS = 365 * DAY_MS;

/** Parsing a certificate with @peculiar/x509 costs milliseconds; key ids of our own CA certificates never change. */
const subjectKeyIds = new WeakMap<Uint8Array, Uint8Array>();

function subjectKeyId(certDer: Uint8Array): Uint8Array {
  const cached = subjectKeyIds.get(certDer);
  if (cached) return cached;
  const ski = new x509.X509Certificate(certDer).getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new SimError('SIM_STATE_INVALID', 'a simulated CA certificate has no Subject Key Identifier', { hint: 'recreate the platform state' });
  const keyId = Buffer.from(ski.keyId, 'hex');
  subjectKeyIds.set(certDer, keyId);
  return keyId;
}

/** A reproducible 20-byte serial of some other (fictional) revoked certificate. */
function decoySerial(seed: Uint8Array, i: number): Uint8Array {
  const bytes = createHash('sha256').update(seed).update(`decoy-${i}`).digest().subarray(0, 20);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

export function tcbEvaluationDataNumberOf(d: PlatformData): number {
  return BASE_TCB_EVALUATION_DATA_NUMBER + d.tcbRecoveryDates.length;
}

export function makeCollateral(d: PlatformData, now: Date, options: SimCollateralOptions = {}): QuoteCollateralV3Json {
  const { tamper, tdx } = options;
  if (tamper !== undefined && !COLLATERAL_TAMPERS.includes(tamper)) {
    throw invalid(`unknown collateral tamper ${JSON.stringify(tamper)}`, `one of: ${COLLATERAL_TAMPERS.join(', ')}`);
  }
  // Issued an hour ago (whole seconds, as Intel's), so a verifier's clock a little behind ours still accepts it.
  const issued = Math.floor((now.getTime() - HOUR_MS) / 1000) * 1000;
  const fresh = { from: new Date(issued), until: new Date(issued + COLLATERAL_VALIDITY_MS) };
  const expired = { from: new Date(issued - COLLATERAL_VALIDITY_MS - DAY_MS), until: new Date(issued - DAY_MS) };
  const future = { from: new Date(issued + DAY_MS), until: new Date(issued + DAY_MS + COLLATERAL_VALIDITY_MS) };
  const windowFor = (expiredTamper: SimCollateralTamper, futureTamper?: SimCollateralTamper) =>
    tamper === expiredTamper ? expired : futureTamper !== undefined && tamper === futureTamper ? future : fresh;

  const root = { cert: d.certs.root, ski: subjectKeyId(d.certs.root), key: d.keys.root };
  const pckCa = { cert: d.certs.pckCa, ski: subjectKeyId(d.certs.pckCa), key: d.keys.pckCa };

  // Root CA CRL. rootCaCrlIssuer: issued and signed by the PCK CA instead.
  const rootCrlIssuer = tamper === 'rootCaCrlIssuer' ? pckCa : root;
  const revokedUnderRoot: Partial<Record<SimCollateralTamper, Uint8Array>> = {
    pckCaRevoked: d.certs.pckCa,
    tcbSigningRevoked: d.certs.tcbSigning,
    rootCaRevoked: d.certs.root,
  };
  const revokedCert = tamper === undefined ? undefined : revokedUnderRoot[tamper];
  const rootCaCrl = buildCrl({
    issuerName: subjectNameDer(rootCrlIssuer.cert),
    authorityKeyId: rootCrlIssuer.ski,
    thisUpdate: tamper === 'rootCaCrlExpired' ? new Date(issued - ROOT_CRL_VALIDITY_MS - DAY_MS) : fresh.from,
    nextUpdate: tamper === 'rootCaCrlExpired' ? expired.until : new Date(issued + ROOT_CRL_VALIDITY_MS),
    crlNumber: 1,
    revokedSerials: revokedCert ? [serialNumberBytes(revokedCert)] : [],
    signingKey: tamper === 'rootCaCrlSignature' ? strangerKey() : rootCrlIssuer.key,
  });

  // PCK CRL. pckCrlWrongCa: a genuine CRL, but from a CA that did not issue this leaf (the root).
  // pckCrlSignerTcbSigning: issued by a certificate that is no CA at all.
  const tcbSigning = { cert: d.certs.tcbSigning, ski: subjectKeyId(d.certs.tcbSigning), key: d.keys.tcbSigning };
  const pckCrlIssuer = tamper === 'pckCrlWrongCa' ? root : tamper === 'pckCrlSignerTcbSigning' ? tcbSigning : pckCa;
  const pckWindow = windowFor('pckCrlExpired');
  const pckCrl = buildCrl({
    issuerName: subjectNameDer(pckCrlIssuer.cert),
    authorityKeyId: pckCrlIssuer.ski,
    thisUpdate: pckWindow.from,
    nextUpdate: pckWindow.until,
    crlNumber: 1,
    // Other platforms' revoked serials too, so a verifier must match the serial, not "any entry".
    revokedSerials: [decoySerial(d.ppid, 1), ...(d.pckRevoked ? [serialNumberBytes(d.certs.pckLeaf)] : []), decoySerial(d.ppid, 2)],
    signingKey: tamper === 'pckCrlSignature' ? strangerKey() : pckCrlIssuer.key,
  });

  // TCB Info.
  const recoveries = d.tcbRecoveryDates.length;
  let levels: TcbLevel[] = options.tcbLevels
    ? options.tcbLevels.map((l) => ({
        tcb: resolveTcb({ sgxTcbComponents: l.sgxTcbComponents, pceSvn: l.pceSvn }),
        ...(l.tdxTcbComponents ? { tdxTcbComponents: resolveTcb({ sgxTcbComponents: l.tdxTcbComponents }).sgxTcbComponents } : {}),
        tcbDate: l.tcbDate ?? midnight(d.createdAt),
        tcbStatus: l.tcbStatus,
        advisoryIDs: l.advisoryIDs ?? [],
      }))
    : tcbLevels(d.tcb, d.createdAt, d.tcbRecoveryDates);
  if (tamper === 'tcbInfoNoMatchingLevel') {
    levels = [{ tcb: recoveredTcb(d.tcb, recoveries + 1), tcbDate: midnight(new Date(issued)), tcbStatus: 'UpToDate', advisoryIDs: [] }];
  }
  if (tamper === 'tcbInfoRevoked') {
    const own = recoveries - d.tcbUpdatesApplied; // levels run from the newest recovery down to provisioning
    levels = levels.map((level, i) => (i === own ? { ...level, tcbStatus: 'Revoked' as const } : level));
  }
  const tcbWindow = windowFor('tcbInfoExpired', 'tcbInfoNotYetValid');
  const tcbInfo = tcbInfoText({
    id: (tamper === 'tcbInfoWrongTee') !== (tdx !== undefined) ? 'TDX' : 'SGX',
    ...(tdx?.tdxModule !== undefined ? { tdxModule: tdx.tdxModule } : {}),
    ...(tdx?.tdxModuleIdentities
      ? {
          tdxModuleIdentities: tdx.tdxModuleIdentities.map((m) => ({
            id: m.id,
            mrsigner: m.mrsigner ?? '00'.repeat(48),
            attributes: m.attributes ?? '0000000000000000',
            attributesMask: 'FFFFFFFFFFFFFFFF',
            tcbLevels: m.tcbLevels.map((l) => ({ tcb: { isvsvn: l.isvsvn }, tcbDate: l.tcbDate ?? midnight(d.createdAt), tcbStatus: l.tcbStatus, ...(l.advisoryIDs ? { advisoryIDs: l.advisoryIDs } : {}) })),
          })),
        }
      : {}),
    issueDate: tcbWindow.from,
    nextUpdate: tcbWindow.until,
    fmspc: tamper === 'tcbInfoFmspc' ? otherHex(d.fmspc) : d.fmspc,
    pceId: tamper === 'tcbInfoPceId' ? otherHex(d.pceId) : d.pceId,
    tcbEvaluationDataNumber: tcbEvaluationDataNumberOf(d),
    levels,
  });

  // QE Identity.
  const qeWindow = windowFor('qeIdentityExpired', 'qeIdentityNotYetValid');
  const qeIdentity = qeIdentityText({
    id: tdx ? 'TD_QE' : 'QE',
    issueDate: qeWindow.from,
    nextUpdate: qeWindow.until,
    tcbEvaluationDataNumber: tcbEvaluationDataNumberOf(d),
    mrsigner: SIM_QE_MRSIGNER,
    isvProdId: SIM_QE_ISV_PROD_ID,
    qeSvn: d.qeSvn,
    tcbDate: midnight(d.createdAt),
    ...(tamper === 'qeIdentityNoMatchingLevel' ? { lowestIsvSvn: d.qeSvn + 1 } : {}),
  });

  // Wrong-signer faults: a correct signature by a key whose certificate chains to the root but plays another role.
  const signers = {
    tcbSigning: { key: d.keys.tcbSigning, chain: [d.certs.tcbSigning, d.certs.root] },
    pckLeaf: { key: d.keys.pckLeaf, chain: [d.certs.pckLeaf, d.certs.pckCa, d.certs.root] },
    pckCa: { key: d.keys.pckCa, chain: [d.certs.pckCa, d.certs.root] },
    root: { key: d.keys.root, chain: [d.certs.root] },
  };
  const signerOf = (prefix: 'tcbInfoSigner' | 'qeIdentitySigner') =>
    tamper === `${prefix}PckLeaf` ? signers.pckLeaf : tamper === `${prefix}PckCa` ? signers.pckCa : tamper === `${prefix}Root` ? signers.root : signers.tcbSigning;
  const tcbSigner = signerOf('tcbInfoSigner');
  const qeSigner = signerOf('qeIdentitySigner');
  return {
    pck_crl_issuer_chain: pemChain(pckCrlIssuer === root ? [d.certs.root] : [pckCrlIssuer.cert, d.certs.root]),
    root_ca_crl: toHex(rootCaCrl),
    pck_crl: toHex(pckCrl),
    tcb_info_issuer_chain: pemChain(tcbSigner.chain),
    tcb_info: tcbInfo,
    tcb_info_signature: signText(tcbInfo, tamper === 'tcbInfoSignature' ? strangerKey() : tcbSigner.key),
    qe_identity_issuer_chain: pemChain(qeSigner.chain),
    qe_identity: qeIdentity,
    qe_identity_signature: signText(qeIdentity, tamper === 'qeIdentitySignature' ? strangerKey() : qeSigner.key),
  };
}
