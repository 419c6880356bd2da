import { createHash } from 'node:crypto';
import { canonicalJson } from './jcs.js';
import type { TeePubKey } from './tee-key.js';

/**
 * The runtime-data object Trustee binds into REPORTDATA (trustee commit
 * c5c1dfd9 and later): `{"additional-evidence": S, "nonce": N, "tee-pubkey": K}`,
 * RFC 8785-canonicalised, SHA-384, zero-padded to 64 bytes. `K` holds only the
 * members `parseTeePubKey` keeps. See docs/key-broker.md, "REPORTDATA binding".
 */
export function runtimeDataObject(nonce: string, teePubKey: TeePubKey, additionalEvidence: string): Record<string, unknown> {
  return { 'additional-evidence': additionalEvidence, nonce, 'tee-pubkey': teePubKey };
}

/** The 64-byte REPORTDATA a quote must carry for this nonce, key and additional evidence. */
export function expectedReportData(nonce: string, teePubKey: TeePubKey, additionalEvidence = ''): Uint8Array {
  const digest = createHash('sha384').update(canonicalJson(runtimeDataObject(nonce, teePubKey, additionalEvidence)), 'utf8').digest();
  const out = new Uint8Array(64);
  out.set(digest, 0);
  return out;
}
