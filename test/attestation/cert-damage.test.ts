/**
 * Issue 13.3: a byte flipped inside the PCK certificate chain a quote carries
 * must be reported as a damaged certificate (it does not parse, or its
 * signature fails), naming the certificate, never as UNTRUSTED_ROOT with a
 * hint to trust another root, and never accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuoteVerifier, isAttestationError } from '../../src/attestation/index.js';
import { AUG_AT, AUG_BUNDLE, AUTOMATA_SGX, haveFixtures, quoteFixture, textFixture } from './fixtures.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Codes that say "this certificate is damaged"; each message must name the certificate. */
const DAMAGE = new Set(['BAD_CERTIFICATE', 'BAD_CERT_DATA', 'CERT_SIGNATURE_INVALID', 'CERT_CHAIN_INVALID', 'UNSUPPORTED_ALGORITHM']);

/** Offsets of the base64 body characters of each PEM block in the quote (padding and the last quartet left out). */
function pemBodies(quote: Uint8Array): number[][] {
  const text = Buffer.from(quote).toString('latin1');
  const bodies: number[][] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf('-----BEGIN CERTIFICATE-----', pos);
    if (begin < 0) return bodies;
    const start = begin + 27;
    const end = text.indexOf('-----END CERTIFICATE-----', start);
    const offsets: number[] = [];
    for (let i = start; i < end - 4; i++) if (B64.includes(text[i]!)) offsets.push(i);
    bodies.push(offsets);
    pos = end;
  }
}

test('a flipped base64 character anywhere in the embedded chain names the damaged certificate (never UNTRUSTED_ROOT)', (t) => {
  if (!haveFixtures(t)) return;
  const quote = quoteFixture(AUTOMATA_SGX);
  const collateral = textFixture(AUG_BUNDLE);
  const verifier = new QuoteVerifier({ cacheMaxEntries: 0 });
  assert.equal(verifier.verify(quote, collateral, { at: AUG_AT }).status, 'SWHardeningNeeded');
  const bodies = pemBodies(quote);
  assert.equal(bodies.length, 3, 'leaf, PCK CA and root');
  const seen = new Map<string, number>();
  bodies.forEach((offsets, certIndex) => {
    for (let k = 0; k < offsets.length; k += 5) {
      const at = offsets[k]!;
      const damaged = Uint8Array.from(quote);
      const c = String.fromCharCode(damaged[at]!);
      damaged[at] = B64.charCodeAt((B64.indexOf(c) + 1) % 64);
      try {
        verifier.verify(damaged, collateral, { at: AUG_AT });
        assert.fail(`a quote with certificate ${certIndex} damaged at byte ${at} was accepted`);
      } catch (err) {
        assert.ok(isAttestationError(err), String(err));
        assert.ok(DAMAGE.has(err.code), `certificate ${certIndex} damaged at byte ${at}: ${err.code} ${err.message}`);
        assert.match(err.message, /certificate/i, `${err.code} must name the certificate: ${err.message}`);
        seen.set(err.code, (seen.get(err.code) ?? 0) + 1);
      }
    }
  });
  // Most flips keep the DER parseable and break a signature: that is the case the issue is about.
  assert.ok((seen.get('CERT_SIGNATURE_INVALID') ?? 0) > 50, JSON.stringify([...seen]));
});

test('the issue example: a flipped byte in the root certificate of the chain is CERT_SIGNATURE_INVALID naming it, with no --trust-root hint', (t) => {
  if (!haveFixtures(t)) return;
  const quote = quoteFixture(AUTOMATA_SGX);
  const root = pemBodies(quote)[2]!;
  const damaged = Uint8Array.from(quote);
  const at = root[Math.floor(root.length * 0.75)]!; // inside the root's extensions (CRL distribution point), before its signature
  damaged[at] = B64.charCodeAt((B64.indexOf(String.fromCharCode(damaged[at]!)) + 1) % 64);
  try {
    new QuoteVerifier().verify(damaged, textFixture(AUG_BUNDLE), { at: AUG_AT });
    assert.fail('accepted');
  } catch (err) {
    assert.ok(isAttestationError(err));
    assert.equal(err.code, 'CERT_SIGNATURE_INVALID', err.message);
    assert.match(err.message, /PCK certificate chain certificate 2 \("Intel SGX Root CA"\)/);
    assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`, /trust-root/);
  }
});
