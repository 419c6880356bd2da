// Quotes of simulated platforms that join a cluster: one PCK CA, TCB Signing
// certificate and collateral (one FMSPC), each platform its own PCK leaf and
// attestation key. Used by bench/attest.ts and bench/_profile-attest.ts.
import { parseCollateral, type Collateral } from '../src/attestation/index.js';
import { parseCertificate } from '../src/attestation/x509.js';
import { SimulatedPlatform } from '../src/sim/index.js';
import { issuePckLeaves } from '../src/sim/certificates.js';
import { generateP256, privateKeyFromPem, privateKeyToPem } from '../src/sim/keys.js';

/**
 * Simulated platforms that share one PCK CA, TCB Signing certificate and
 * collateral but each have their own PCK leaf and attestation key.
 */
export async function newPlatformQuotes(count: number): Promise<{ quotes: Uint8Array[]; collateral: Collateral; root: Uint8Array; at: Date }> {
  const at = new Date('2026-01-15T00:00:00Z');
  const base = await SimulatedPlatform.create({ now: at });
  const state = base.toJSON();
  const sgxExtension = parseCertificate(base.pckCertificateDer, 'sim PCK leaf').sgxExtension!;
  const pckCa = privateKeyFromPem(state.keys.pckCa);
  const quotes: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const leafKey = generateP256();
    const leaves = await issuePckLeaves(pckCa, leafKey, { notBefore: new Date(at.getTime() - 86_400_000), ca: base.pckCa, sgxExtension });
    const platform = SimulatedPlatform.fromJSON(
      {
        ...state,
        keys: { ...state.keys, pckLeaf: privateKeyToPem(leafKey), attestation: privateKeyToPem(generateP256()) },
        certs: { ...state.certs, pckLeaf: Buffer.from(leaves.pckLeaf).toString('base64'), pckLeafExpired: Buffer.from(leaves.pckLeafExpired).toString('base64') },
      },
      { now: at },
    );
    quotes.push(platform.quote({ reportData: new Uint8Array([i, 7]) }));
  }
  return { quotes, collateral: parseCollateral(base.collateral()), root: base.rootCaDer, at };
}

