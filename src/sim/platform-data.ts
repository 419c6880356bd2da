/**
 * The in-memory form of a simulated platform (keys as KeyObjects, DER
 * certificates, TCB history) and its conversion to and from the persisted
 * JSON state.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { KeyObject } from 'node:crypto';
import { fromHex, toHex } from '../common/hex.js';
import { SimError } from './errors.js';
import { privateKeyFromPem, privateKeyToPem } from './keys.js';
import { encodeSgxExtension } from './sgx-extension.js';
import { simPlatformStateSchema } from './state-schema.js';
import { recoveredTcb } from './tcb-levels.js';
import type { SimPckCa, SimPlatformState, SimTcb } from './types.js';

export interface PlatformKeys {
  root: KeyObject;
  pckCa: KeyObject;
  pckLeaf: KeyObject;
  tcbSigning: KeyObject;
  attestation: KeyObject;
}

export interface PlatformCerts {
  root: Uint8Array;
  pckCa: Uint8Array;
  pckLeaf: Uint8Array;
  tcbSigning: Uint8Array;
  pckLeafExpired: Uint8Array;
}

export interface PlatformData {
  createdAt: Date;
  fixedNow: Date | undefined;
  fmspc: string;
  pceId: string;
  ca: SimPckCa;
  /** TCB at provisioning (TCB Info's history is relative to it). */
  tcb: SimTcb;
  /** Recoveries installed by updateTcb(): the PCK leaf states recoveredTcb(tcb, tcbUpdatesApplied). */
  tcbUpdatesApplied: number;
  qeSvn: number;
  ppid: Uint8Array;
  qeId: Uint8Array;
  platformInstanceId: Uint8Array;
  keys: PlatformKeys;
  certs: PlatformCerts;
  tcbRecoveryDates: Date[];
  pckRevoked: boolean;
}

/** The TCB the platform runs at now: the provisioned one raised by every installed recovery. */
export function currentTcb(d: PlatformData): SimTcb {
  return d.tcbUpdatesApplied === 0 ? d.tcb : recoveredTcb(d.tcb, d.tcbUpdatesApplied);
}

export function sgxExtensionFor(p: { ppid: Uint8Array; tcb: SimTcb; pceId: string; fmspc: string; ca: SimPckCa; platformInstanceId: Uint8Array }): Uint8Array {
  return encodeSgxExtension({
    ppid: p.ppid,
    tcb: p.tcb,
    pceId: fromHex(p.pceId)!,
    fmspc: fromHex(p.fmspc)!,
    ...(p.ca === 'platform' ? { platform: { instanceId: p.platformInstanceId, dynamicPlatform: true, cachedKeys: false, smtEnabled: false } } : {}),
  });
}

const STATE_HINT = 'the state must come from SimulatedPlatform#toJSON(); delete it to create a new platform';

export function dataFromState(state: unknown): PlatformData {
  const parsed = simPlatformStateSchema.safeParse(state);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SimError('SIM_STATE_INVALID', `simulated platform state is invalid: ${problems}`, { hint: STATE_HINT });
  }
  const s = parsed.data;
  const der = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));
  let keys: PlatformKeys;
  try {
    keys = {
      root: privateKeyFromPem(s.keys.root),
      pckCa: privateKeyFromPem(s.keys.pckCa),
      pckLeaf: privateKeyFromPem(s.keys.pckLeaf),
      tcbSigning: privateKeyFromPem(s.keys.tcbSigning),
      attestation: privateKeyFromPem(s.keys.attestation),
    };
  } catch (cause) {
    throw new SimError('SIM_STATE_INVALID', 'simulated platform state holds an unreadable private key', { cause, hint: STATE_HINT });
  }
  const certs: PlatformCerts = {
    root: der(s.certs.root),
    pckCa: der(s.certs.pckCa),
    pckLeaf: der(s.certs.pckLeaf),
    tcbSigning: der(s.certs.tcbSigning),
    pckLeafExpired: der(s.certs.pckLeafExpired),
  };
  for (const [name, cert] of Object.entries(certs)) {
    try {
      new x509.X509Certificate(cert);
    } catch (cause) {
      throw new SimError('SIM_STATE_INVALID', `simulated platform state holds an unparsable certificate (certs.${name})`, { cause, hint: STATE_HINT });
    }
  }
  return {
    createdAt: new Date(s.createdAt),
    fixedNow: s.fixedNow === undefined ? undefined : new Date(s.fixedNow),
    fmspc: s.fmspc.toLowerCase(),
    pceId: s.pceId.toLowerCase(),
    ca: s.ca,
    tcb: s.tcb,
    tcbUpdatesApplied: s.tcbUpdatesApplied ?? 0,
    qeSvn: s.qeSvn,
    ppid: fromHex(s.ppid)!,
    qeId: fromHex(s.qeId)!,
    platformInstanceId: fromHex(s.platformInstanceId)!,
    keys,
    certs,
    tcbRecoveryDates: s.tcbRecoveryDates.map((d) => new Date(d)),
    pckRevoked: s.pckRevoked,
  };
}

export function stateFromData(d: PlatformData): SimPlatformState {
  const b64 = (der: Uint8Array): string => Buffer.from(der).toString('base64');
  return {
    kind: 'kubetee-sim-platform',
    version: 1,
    createdAt: d.createdAt.toISOString(),
    ...(d.fixedNow ? { fixedNow: d.fixedNow.toISOString() } : {}),
    fmspc: d.fmspc,
    pceId: d.pceId,
    ca: d.ca,
    tcb: { sgxTcbComponents: [...d.tcb.sgxTcbComponents], pceSvn: d.tcb.pceSvn },
    tcbUpdatesApplied: d.tcbUpdatesApplied,
    qeSvn: d.qeSvn,
    ppid: toHex(d.ppid),
    qeId: toHex(d.qeId),
    platformInstanceId: toHex(d.platformInstanceId),
    keys: {
      root: privateKeyToPem(d.keys.root),
      pckCa: privateKeyToPem(d.keys.pckCa),
      pckLeaf: privateKeyToPem(d.keys.pckLeaf),
      tcbSigning: privateKeyToPem(d.keys.tcbSigning),
      attestation: privateKeyToPem(d.keys.attestation),
    },
    certs: { root: b64(d.certs.root), pckCa: b64(d.certs.pckCa), pckLeaf: b64(d.certs.pckLeaf), tcbSigning: b64(d.certs.tcbSigning), pckLeafExpired: b64(d.certs.pckLeafExpired) },
    tcbRecoveryDates: d.tcbRecoveryDates.map((date) => date.toISOString()),
    pckRevoked: d.pckRevoked,
  };
}
