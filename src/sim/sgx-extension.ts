/**
 * The Intel SGX PCK certificate extension (OID 1.2.840.113741.1.13.1), laid
 * out exactly as in Intel's PCK certificates: a SEQUENCE of (OID, value)
 * pairs — PPID, TCB (16 component SVNs, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX
 * type, and for Platform-CA leaves the platform instance ID and configuration.
 */
import { boolean, enumerated, integer, octetString, oid, sequence } from './der.js';
import { SGX_EXTENSION_OID } from './names.js';
import type { SimTcb } from './types.js';

export interface SgxExtensionFields {
  ppid: Uint8Array; // 16 bytes
  tcb: SimTcb;
  pceId: Uint8Array; // 2 bytes
  fmspc: Uint8Array; // 6 bytes
  /** Present only for leaves issued by the Platform CA (multi-package platforms). */
  platform?: { instanceId: Uint8Array; dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean };
}

const sub = (n: string): string => `${SGX_EXTENSION_OID}.${n}`;

/** CPUSVN as the PCK certificate states it: the 16 component SVNs as bytes. */
export function cpuSvnOf(tcb: SimTcb): Uint8Array {
  return Uint8Array.from(tcb.sgxTcbComponents);
}

/** DER of the extension value (the contents of the extnValue OCTET STRING). */
export function encodeSgxExtension(fields: SgxExtensionFields): Uint8Array {
  const tcbItems = fields.tcb.sgxTcbComponents.map((svn, i) => sequence(oid(sub(`2.${i + 1}`)), integer(svn)));
  tcbItems.push(sequence(oid(sub('2.17')), integer(fields.tcb.pceSvn)));
  tcbItems.push(sequence(oid(sub('2.18')), octetString(cpuSvnOf(fields.tcb))));
  const items = [
    sequence(oid(sub('1')), octetString(fields.ppid)),
    sequence(oid(sub('2')), sequence(...tcbItems)),
    sequence(oid(sub('3')), octetString(fields.pceId)),
    sequence(oid(sub('4')), octetString(fields.fmspc)),
    // SGX type: 0 = Standard (Processor CA leaves), 1 = Scalable (Platform CA leaves).
    sequence(oid(sub('5')), enumerated(fields.platform ? 1 : 0)),
  ];
  if (fields.platform) {
    items.push(sequence(oid(sub('6')), octetString(fields.platform.instanceId)));
    items.push(
      sequence(
        oid(sub('7')),
        sequence(
          sequence(oid(sub('7.1')), boolean(fields.platform.dynamicPlatform)),
          sequence(oid(sub('7.2')), boolean(fields.platform.cachedKeys)),
          sequence(oid(sub('7.3')), boolean(fields.platform.smtEnabled)),
        ),
      ),
    );
  }
  return sequence(...items);
}
