/**
 * Validation of persisted platform state (fromJSON). A data directory can be
 * edited or truncated by hand; a bad file must give one typed error listing
 * what is wrong, never a crash deep inside the crypto code.
 */
import { z } from 'zod';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `expected ${bytes} bytes of hex`);
const pemKey = z.string().includes('PRIVATE KEY', { message: 'expected a PKCS#8 PEM private key' });
const b64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64 DER');
const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO date');

export const simPlatformStateSchema = z.object({
  kind: z.literal('kubetee-sim-platform'),
  version: z.literal(1),
  createdAt: isoDate,
  fixedNow: isoDate.optional(),
  fmspc: hex(6),
  pceId: hex(2),
  ca: z.enum(['processor', 'platform']),
  tcb: z.object({
    sgxTcbComponents: z.array(z.number().int().min(0).max(255)).length(16),
    pceSvn: z.number().int().min(0).max(0xffff),
  }),
  tcbUpdatesApplied: z.number().int().min(0).optional(),
  qeSvn: z.number().int().min(0).max(0xffff),
  ppid: hex(16),
  qeId: hex(16),
  platformInstanceId: hex(16),
  keys: z.object({ root: pemKey, pckCa: pemKey, pckLeaf: pemKey, tcbSigning: pemKey, attestation: pemKey }),
  certs: z.object({ root: b64, pckCa: b64, pckLeaf: b64, tcbSigning: b64, pckLeafExpired: b64 }),
  tcbRecoveryDates: z.array(isoDate),
  pckRevoked: z.boolean(),
}).refine((s) => (s.tcbUpdatesApplied ?? 0) <= s.tcbRecoveryDates.length, {
  message: 'tcbUpdatesApplied cannot exceed the number of TCB recoveries',
  path: ['tcbUpdatesApplied'],
});
