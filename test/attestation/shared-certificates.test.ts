// Attacks on the process-wide cache of shared certificates and signature
// verdicts (src/attestation/shared-certificates.ts): a certificate or signed
// document that differs from a genuine cached one in any byte — same subject,
// same key id, same key, another signature — must never get the genuine one's
// parse, key or verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuoteVerifier, AttestationError, collateralToJson, decodePemChain, parseCollateral, parseQuote, type Collateral } from '../../src/attestation/index.js';
import { clearSharedCaches, sharedCertificate, verifyCertificateSignature, verifySignedData } from '../../src/attestation/shared-certificates.js';
import { SimulatedPlatform } from '../../src/sim/index.js';

const AT = new Date('2026-03-01T00:00:00Z');

function code(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    assert.ok(err instanceof AttestationError, String(err));
    return err.code;
  }
}

/** The same DER with one byte of the signature value flipped (still well-formed DER). */
function flipSignatureByte(der: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(der);
  copy[copy.length - 5] ^= 0x01;
  return copy;
}

async function platform(): Promise<{ sim: SimulatedPlatform; collateral: Collateral; chain: Uint8Array[] }> {
  const sim = await SimulatedPlatform.create({ now: AT });
  const quote = sim.quote();
  return { sim, collateral: parseCollateral(sim.collateral()), chain: parseQuote(quote).qe.pckChainDer };
}

test('a certificate with the genuine subject, key id and key but another signature is a different cache entry and never inherits the verdict', async () => {
  const { chain } = await platform();
  const [, caDer, rootDer] = chain as [Uint8Array, Uint8Array, Uint8Array];
  const root = sharedCertificate(rootDer, 'root');
  const genuine = sharedCertificate(caDer, 'CA');
  assert.equal(verifyCertificateSignature(genuine, root), true);
  assert.equal(sharedCertificate(caDer, 'CA again'), genuine, 'same bytes: same cached certificate');

  const forgedDer = flipSignatureByte(caDer);
  const forged = sharedCertificate(forgedDer, 'forged CA');
  assert.notEqual(forged, genuine);
  assert.deepEqual(forged.subject, genuine.subject);
  assert.deepEqual(forged.spki, genuine.spki);
  assert.equal(verifyCertificateSignature(forged, root), false);
  assert.equal(verifyCertificateSignature(forged, root), false, 'a failure is not remembered as a success');
  assert.equal(verifyCertificateSignature(genuine, root), true);
});

test('mutating the caller\'s buffer after caching changes neither the cached certificate nor its verdict', async () => {
  const { chain } = await platform();
  const [, caDer, rootDer] = chain as [Uint8Array, Uint8Array, Uint8Array];
  const buffer = Uint8Array.from(caDer);
  const genuine = sharedCertificate(buffer, 'CA');
  const root = sharedCertificate(rootDer, 'root');
  assert.equal(verifyCertificateSignature(genuine, root), true);
  buffer.set(flipSignatureByte(caDer));
  assert.deepEqual(genuine.der, caDer, 'the cache holds its own copy');
  assert.ok(Object.isFrozen(genuine));
  assert.notEqual(sharedCertificate(buffer, 'mutated CA'), genuine);
});

test('a signed document or CRL with one byte changed, or another signature, does not reuse a cached signature verdict', async () => {
  const { chain, collateral } = await platform();
  const root = sharedCertificate(chain[2]!, 'root');
  const tcbSigner = sharedCertificate(decodePemChain(Buffer.from(collateral.tcbInfoIssuerChain, 'latin1'), 'tcb chain')[0]!, 'TCB Signing');
  const text = Buffer.from(collateral.tcbInfo, 'utf8');
  const sig = Buffer.from(collateral.tcbInfoSignature, 'hex');
  assert.equal(verifySignedData(tcbSigner, text, sig, 'raw', 'sha256'), true);
  const edited = Buffer.from(text);
  edited[edited.length - 3] ^= 0x01;
  assert.equal(verifySignedData(tcbSigner, edited, sig, 'raw', 'sha256'), false);
  const otherSig = Buffer.from(sig);
  otherSig[10] ^= 0x01;
  assert.equal(verifySignedData(tcbSigner, text, otherSig, 'raw', 'sha256'), false);
  // The same text and signature with another (cached) certificate's key: no verdict carries over.
  assert.equal(verifySignedData(root, text, sig, 'raw', 'sha256'), false);
});

test('end to end: after a genuine quote warmed the process caches, a quote whose PCK CA differs only in its signature is rejected', async () => {
  const { sim, collateral, chain } = await platform();
  const verifier = new QuoteVerifier({ trustedRootCaDer: [sim.rootCaDer], cacheMaxEntries: 0 });
  const quote = sim.quote();
  assert.equal(code(() => verifier.verify(quote, collateral, { at: AT })), 'accepted');

  // Re-encode the quote's second PEM certificate (the PCK CA) with a flipped signature byte, keeping its layout.
  const text = Buffer.from(quote).toString('latin1');
  const begin = text.indexOf('-----BEGIN CERTIFICATE-----', text.indexOf('-----END CERTIFICATE-----')) + '-----BEGIN CERTIFICATE-----'.length;
  const end = text.indexOf('-----END CERTIFICATE-----', begin);
  const b64 = Buffer.from(flipSignatureByte(chain[1]!)).toString('base64');
  let k = 0;
  const block = text.slice(begin, end).replace(/[A-Za-z0-9+/=]/g, () => b64[k++]!);
  assert.equal(k, b64.length, 'same DER length, same base64 length');
  const forgedQuote = Buffer.from(text.slice(0, begin) + block + text.slice(end), 'latin1');
  assert.deepEqual(parseQuote(forgedQuote).qe.pckChainDer[1], flipSignatureByte(chain[1]!));
  assert.equal(code(() => verifier.verify(forgedQuote, collateral, { at: AT })), 'CERT_SIGNATURE_INVALID');
  assert.equal(code(() => verifier.verify(quote, collateral, { at: AT })), 'accepted');
});

test('end to end: collateral whose TCB Info differs in one byte is rejected after the genuine one was verified, warm or cold', async () => {
  const { sim, collateral } = await platform();
  const quote = sim.quote();
  const json = collateralToJson(collateral);
  const tampered = { ...json, tcb_info: json.tcb_info.replace('"tcbEvaluationDataNumber":', '"tcbEvaluationDataNumber": ') };
  assert.notEqual(tampered.tcb_info, json.tcb_info);
  const warm = new QuoteVerifier({ trustedRootCaDer: [sim.rootCaDer] });
  for (const v of [warm, new QuoteVerifier({ trustedRootCaDer: [sim.rootCaDer], cacheMaxEntries: 0 })]) {
    assert.equal(code(() => v.verify(quote, json, { at: AT })), 'accepted');
    assert.equal(code(() => v.verify(quote, tampered, { at: AT })), 'TCB_INFO_SIGNATURE_INVALID');
    assert.equal(code(() => v.verify(quote, JSON.stringify(tampered), { at: AT })), 'TCB_INFO_SIGNATURE_INVALID');
  }
  clearSharedCaches();
  assert.equal(code(() => new QuoteVerifier({ trustedRootCaDer: [sim.rootCaDer], cacheMaxEntries: 0 }).verify(quote, tampered, { at: AT })), 'TCB_INFO_SIGNATURE_INVALID');
});
