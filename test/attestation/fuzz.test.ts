// Property: thousands of random mutations and truncations of real quotes and
// collateral produce either a verified result or an AttestationError, never
// another exception or a hang; and a mutated quote that still verifies says
// exactly what the original says (the signed bytes cannot have changed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuoteVerifier, AttestationError, parseQuote, parsePckExtension } from '../../src/attestation/index.js';
import { parseCertificate, parseCrl } from '../../src/attestation/x509.js';
import { AUG_AT, AUG_BUNDLE, AUTOMATA_SGX, haveFixtures, quoteFixture, textFixture } from './fixtures.js';
import { seededRandom as rng } from '../helpers/random.js';


function mutateBytes(src: Uint8Array, r: () => number): Uint8Array {
  const kind = Math.floor(r() * 5);
  const at = Math.floor(r() * src.length);
  switch (kind) {
    case 0: // truncate
      return src.slice(0, at);
    case 1: {
      // flip 1-4 random bits
      const out = new Uint8Array(src);
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) out[Math.floor(r() * out.length)]! ^= 1 << Math.floor(r() * 8);
      return out;
    }
    case 2: {
      // overwrite a length-like field with an extreme value
      const out = new Uint8Array(src);
      const v = [0x00, 0xff, 0x7f, 0x80][Math.floor(r() * 4)]!;
      out.fill(v, at, Math.min(out.length, at + 1 + Math.floor(r() * 4)));
      return out;
    }
    case 3: {
      // insert random bytes
      const ins = new Uint8Array(1 + Math.floor(r() * 8)).map(() => Math.floor(r() * 256));
      const out = new Uint8Array(src.length + ins.length);
      out.set(src.subarray(0, at));
      out.set(ins, at);
      out.set(src.subarray(at), at + ins.length);
      return out;
    }
    default: {
      // delete a range
      const len = Math.min(src.length - at, 1 + Math.floor(r() * 16));
      const out = new Uint8Array(src.length - len);
      out.set(src.subarray(0, at));
      out.set(src.subarray(at + len), at);
      return out;
    }
  }
}

function mutateText(src: string, r: () => number): string {
  const at = Math.floor(r() * src.length);
  const kind = Math.floor(r() * 3);
  if (kind === 0) return src.slice(0, at);
  const alphabet = '0123456789abcdefABCDEF{}[]",:-+= \\\n';
  const ch = alphabet[Math.floor(r() * alphabet.length)]!;
  if (kind === 1) return src.slice(0, at) + ch + src.slice(at + 1);
  return src.slice(0, at) + ch + src.slice(at);
}

const FIELDS = ['pck_crl_issuer_chain', 'root_ca_crl', 'pck_crl', 'tcb_info_issuer_chain', 'tcb_info', 'tcb_info_signature', 'qe_identity_issuer_chain', 'qe_identity', 'qe_identity_signature'];

test('random quote mutations: verified (same identity) or AttestationError', (t) => {
  if (!haveFixtures(t)) return;
  const cases: [string, string, Date][] = [
    [AUTOMATA_SGX, AUG_BUNDLE, AUG_AT],
    ['phala-dcap-qvl/tdx_quote', 'phala-dcap-qvl/tdx_quote_collateral.json', new Date('2025-07-04T00:00:00Z')],
    ['phala-dcap-qvl/tdx_quote_outdated', 'phala-dcap-qvl/tdx_quote_outdated_collateral.json', new Date('2026-03-05T00:00:00Z')],
  ];
  const v = new QuoteVerifier();
  let verified = 0;
  let rejected = 0;
  const codes = new Set<string>();
  for (const [qf, cf, at] of cases) {
    const quote = quoteFixture(qf);
    const collateral = textFixture(cf);
    const original = parseQuote(quote);
    const r = rng(0x5eed + qf.length);
    for (let i = 0; i < 1500; i++) {
      const m = mutateBytes(quote, r);
      try {
        const res = v.verify(m, collateral, { at });
        verified++;
        assert.equal(res.enclave?.mrenclave ?? res.td?.mrtd, original.enclave?.mrenclave ?? original.td?.mrtd);
        assert.equal(res.enclave?.reportData ?? res.td?.reportData, original.enclave?.reportData ?? original.td?.reportData);
      } catch (err) {
        if (!(err instanceof AttestationError) || err.code === 'INTERNAL_ERROR') assert.fail(`iteration ${i} of ${qf}: unexpected ${String(err)}`);
        rejected++;
        codes.add(err.code);
      }
    }
  }
  assert.ok(rejected > 4000, `rejected ${rejected}, verified ${verified}`);
  // Mutations reach deep into the algorithm, not only the parser.
  for (const c of ['QUOTE_TRUNCATED', 'QUOTE_SIGNATURE_INVALID', 'QE_REPORT_SIGNATURE_INVALID', 'BAD_CERT_DATA']) assert.ok(codes.has(c), `${c} not reached: ${[...codes].join(',')}`);
});

test('random collateral mutations: verified or AttestationError', (t) => {
  if (!haveFixtures(t)) return;
  const quote = quoteFixture(AUTOMATA_SGX);
  const base = JSON.parse(textFixture(AUG_BUNDLE)) as Record<string, string>;
  const v = new QuoteVerifier({ cacheMaxEntries: 16 });
  const r = rng(42);
  const codes = new Set<string>();
  let rejected = 0;
  for (let i = 0; i < 1500; i++) {
    const field = FIELDS[Math.floor(r() * FIELDS.length)]!;
    const mutated = { ...base, [field]: mutateText(base[field]!, r) };
    // Also mutate the JSON text as a whole now and then.
    const input = r() < 0.2 ? mutateText(JSON.stringify(base), r) : mutated;
    try {
      const res = v.verify(quote, input as never, { at: AUG_AT });
      assert.equal(res.status, 'SWHardeningNeeded');
    } catch (err) {
      if (!(err instanceof AttestationError) || err.code === 'INTERNAL_ERROR') assert.fail(`iteration ${i} (${field}): unexpected ${String(err)}`);
      rejected++;
      codes.add(err.code);
    }
  }
  assert.ok(rejected > 1000, `only ${rejected} rejected`);
  for (const c of ['BAD_COLLATERAL', 'TCB_INFO_SIGNATURE_INVALID', 'QE_IDENTITY_SIGNATURE_INVALID']) assert.ok(codes.has(c), `${c} not reached: ${[...codes].join(',')}`);
});

test('random mutations of certificate, CRL and SGX-extension DER: parsed or a typed error', (t) => {
  if (!haveFixtures(t)) return;
  const q = parseQuote(quoteFixture(AUTOMATA_SGX));
  const bundle = JSON.parse(textFixture(AUG_BUNDLE)) as Record<string, string>;
  const leaf = parseCertificate(q.qe.pckChainDer[0]!, 'leaf');
  const inputs: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
    ['PCK leaf', q.qe.pckChainDer[0]!, (b) => parseCertificate(b, 'fuzz')],
    ['PCK CA', q.qe.pckChainDer[1]!, (b) => parseCertificate(b, 'fuzz')],
    ['PCK CRL', new Uint8Array(Buffer.from(bundle['pck_crl']!, 'hex')), (b) => parseCrl(b, 'fuzz')],
    ['Root CA CRL', new Uint8Array(Buffer.from(bundle['root_ca_crl']!, 'hex')), (b) => parseCrl(b, 'fuzz')],
    ['SGX extension', leaf.sgxExtension!, (b) => parsePckExtension(b)],
  ];
  const r = rng(7);
  let parsed = 0;
  for (const [name, der, parse] of inputs) {
    for (let i = 0; i < 800; i++) {
      const m = mutateBytes(der, r);
      try {
        parse(m);
        parsed++;
      } catch (err) {
        if (!(err instanceof AttestationError)) assert.fail(`${name} iteration ${i}: unexpected ${String(err)}`);
        assert.ok(['BAD_CERTIFICATE', 'BAD_CRL', 'BAD_PCK_EXTENSION', 'UNSUPPORTED_ALGORITHM'].includes(err.code), `${name}: ${err.code}`);
      }
    }
  }
  // Some mutations (inside signatures, serials, names) still parse: the DER reader is not simply rejecting everything.
  assert.ok(parsed > 100, `only ${parsed} mutated inputs parsed`);
});
