/**
 * The simulated PKI checked by independent means: node:crypto verifies every
 * signature, @peculiar/x509 parses the extensions, and a separate DER walker
 * compares the SGX extension and names with Intel's real PCK certificates.
 */
import 'reflect-metadata';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { SimulatedPlatform, SGX_EXTENSION_OID } from '../../src/sim/index.js';
import { readFixture } from './fixtures.js';
import { skeleton, valueOf, walk, type DerNode } from './der-walk.js';

const AT = new Date('2026-02-01T08:00:00Z');
/** SHA-256 of Intel's real SGX Root CA DER (docs/attestation.md §2). */
const INTEL_ROOT_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';

/** PEM certificates embedded in a quote's certification data (leaf, CA, root). */
function chainOf(quote: Uint8Array): X509Certificate[] {
  const text = Buffer.from(quote).toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  return pems.map((pem) => new X509Certificate(pem));
}

function sgxExtensionTree(cert: X509Certificate): DerNode[] {
  const ext = new x509.X509Certificate(cert.raw).getExtension(SGX_EXTENSION_OID);
  assert.ok(ext, 'certificate has the SGX extension');
  assert.equal(ext.critical, false);
  return walk(new Uint8Array(ext.value));
}

/** Extension OIDs and criticality in order, with the exact value of Key Usage and Basic Constraints. */
function extensionList(cert: X509Certificate): Array<[string, boolean, string?]> {
  const exact = new Set(['2.5.29.15', '2.5.29.19']);
  return new x509.X509Certificate(cert.raw).extensions.map((e) =>
    exact.has(e.type) ? [e.type, e.critical, Buffer.from(e.value).toString('hex')] : [e.type, e.critical],
  );
}

/** Subject Name of a certificate as a DER tree (TBSCertificate field 6). */
function subjectTree(cert: X509Certificate): DerNode {
  const tbs = walk(cert.raw)[0]!.children![0]!;
  return tbs.children![5]!;
}

const sub = (n: string): string => `${SGX_EXTENSION_OID}.${n}`;

describe('simulated PKI', () => {
  let processor: SimulatedPlatform;
  let platformCa: SimulatedPlatform;
  let chain: X509Certificate[];

  before(async () => {
    processor = await SimulatedPlatform.create({ now: AT, fmspc: '00906ED50000', pceId: '0000' });
    platformCa = await SimulatedPlatform.create({ now: AT, ca: 'platform', fmspc: '00606a000000' });
    chain = chainOf(processor.quote());
  });

  test('the quote carries leaf, PCK CA and root, each signed by the next (node:crypto)', () => {
    assert.equal(chain.length, 3);
    const [leaf, ca, root] = chain as [X509Certificate, X509Certificate, X509Certificate];
    assert.ok(leaf.verify(ca.publicKey), 'leaf signed by PCK CA');
    assert.ok(ca.verify(root.publicKey), 'PCK CA signed by root');
    assert.ok(root.verify(root.publicKey), 'root self-signed');
    assert.ok(leaf.checkIssued(ca) && ca.checkIssued(root) && root.checkIssued(root));
    assert.ok(!leaf.verify(root.publicKey), 'leaf is not signed by the root directly');
    assert.deepEqual(new Uint8Array(root.raw), processor.rootCaDer);
    assert.equal(root.toString(), processor.rootCaPem);
    assert.deepEqual(new Uint8Array(leaf.raw), processor.pckCertificateDer);
  });

  test('roles and names: CA flags, PCK leaf CN, Processor vs Platform CA', () => {
    const [leaf, ca, root] = chain as [X509Certificate, X509Certificate, X509Certificate];
    assert.equal(root.ca, true);
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
    assert.match(leaf.subject, /CN=.*SGX PCK Certificate/);
    assert.match(ca.subject, /CN=.*SGX PCK Processor CA/);
    const [, platformCaCert] = chainOf(platformCa.quote()) as [X509Certificate, X509Certificate];
    assert.match(platformCaCert.subject, /CN=.*SGX PCK Platform CA/);
    for (const cert of chain) assert.match(cert.subject, /Simulated/, 'every name says it is simulated');
  });

  test('the simulated root is not Intel\'s, and each platform has its own', () => {
    assert.notEqual(createHash('sha256').update(processor.rootCaDer).digest('hex'), INTEL_ROOT_SHA256);
    assert.notDeepEqual(processor.rootCaDer, platformCa.rootCaDer);
  });

  test('validity: all certificates valid at the platform time; the expired-leaf fault is the same key, expired', () => {
    for (const cert of chain) {
      assert.ok(new Date(cert.validFrom) <= AT && AT <= new Date(cert.validTo), `${cert.subject} valid at ${AT.toISOString()}`);
    }
    const [expired, ca] = chainOf(processor.quote({ tamper: 'pckLeafExpired' })) as [X509Certificate, X509Certificate];
    assert.ok(new Date(expired.validTo) < AT);
    assert.ok(expired.verify(ca.publicKey), 'still properly signed: only the validity is wrong');
    assert.ok(expired.publicKey.equals(chain[0]!.publicKey));
    assert.deepEqual(skeleton(sgxExtensionTree(expired)), skeleton(sgxExtensionTree(chain[0]!)));
  });

  test('the broken-chain fault keeps the leaf parseable but its signature fails', () => {
    const [leaf, ca] = chainOf(processor.quote({ tamper: 'pckChainSignature' })) as [X509Certificate, X509Certificate];
    assert.equal(leaf.verify(ca.publicKey), false);
    assert.ok(leaf.publicKey.equals(chain[0]!.publicKey));
  });

  test('TCB Signing certificate: issued by the root, a signing (non-CA) certificate', () => {
    const [tcbSigning, root] = (processor.collateral().tcb_info_issuer_chain.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
      (pem) => new X509Certificate(pem),
    ) as [X509Certificate, X509Certificate];
    assert.match(tcbSigning.subject, /CN=.*SGX TCB Signing/);
    assert.ok(tcbSigning.verify(root.publicKey));
    assert.equal(tcbSigning.ca, false);
    assert.deepEqual(new Uint8Array(root.raw), processor.rootCaDer);
    const ku = new x509.X509Certificate(tcbSigning.raw).getExtension(x509.KeyUsagesExtension);
    assert.equal(ku?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation);
  });

  test('key usages and path lengths follow Intel\'s', () => {
    const [leaf, ca, root] = chain.map((c) => new x509.X509Certificate(c.raw)) as [x509.X509Certificate, x509.X509Certificate, x509.X509Certificate];
    assert.equal(leaf.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation);
    assert.equal(ca.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(root.getExtension(x509.BasicConstraintsExtension)?.pathLength, 1);
    assert.equal(ca.getExtension(x509.BasicConstraintsExtension)?.pathLength, 0);
    const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    assert.equal(aki, ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, 'leaf AKI is the CA key id');
  });

  test('SGX extension values: PPID, TCB components, PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type', () => {
    const tree = sgxExtensionTree(chain[0]!);
    const tcb = processor.tcb;
    assert.equal(valueOf(tree, sub('1'))?.hex?.length, 32, 'PPID is 16 bytes');
    tcb.sgxTcbComponents.forEach((svn, i) => assert.equal(parseInt(valueOf(tree, sub(`2.${i + 1}`))!.hex!, 16), svn, `component ${i + 1}`));
    assert.equal(parseInt(valueOf(tree, sub('2.17'))!.hex!, 16), tcb.pceSvn);
    assert.equal(valueOf(tree, sub('2.18'))?.hex, Buffer.from(tcb.sgxTcbComponents).toString('hex'));
    assert.equal(valueOf(tree, sub('3'))?.hex, '0000');
    assert.equal(valueOf(tree, sub('4'))?.hex, '00906ed50000');
    assert.deepEqual(valueOf(tree, sub('5')), { tag: 0x0a, hex: '00' });
    assert.equal(valueOf(tree, sub('6')), undefined, 'no platform instance for Processor-CA leaves');

    const platformTree = sgxExtensionTree(chainOf(platformCa.quote())[0]!);
    assert.deepEqual(valueOf(platformTree, sub('5')), { tag: 0x0a, hex: '01' });
    assert.equal(valueOf(platformTree, sub('6'))?.hex?.length, 32);
    assert.equal(valueOf(platformTree, sub('4'))?.hex, '00606a000000');
  });

  test('the SGX extension has exactly the structure of Intel\'s real PCK certificates', (t) => {
    const processorQuote = readFixture(t, 'phala-dcap-qvl/sgx_quote');
    const platformQuoteHex = readFixture(t, 'automata-dcap-attestation/quotes/sgx_v3_fmspc00606a.hex');
    if (!processorQuote || !platformQuoteHex) return;
    const intelProcessorLeaf = chainOf(processorQuote)[0]!;
    const intelPlatformLeaf = chainOf(Buffer.from(platformQuoteHex.toString('utf8').trim().replace(/^0x/, ''), 'hex'))[0]!;
    assert.deepEqual(skeleton(sgxExtensionTree(chain[0]!)), skeleton(sgxExtensionTree(intelProcessorLeaf)));
    assert.deepEqual(skeleton(sgxExtensionTree(chainOf(platformCa.quote())[0]!)), skeleton(sgxExtensionTree(intelPlatformLeaf)));
  });

  test('extension order, criticality and name encoding match Intel\'s certificates', (t) => {
    const intelQuote = readFixture(t, 'phala-dcap-qvl/sgx_quote');
    if (!intelQuote) return;
    const intel = chainOf(intelQuote);
    assert.equal(intel.length, 3);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(extensionList(chain[i]!), extensionList(intel[i]!), `extensions of chain certificate ${i}`);
      // Same attribute types in the same order with the same string types (UTF8String / PrintableString).
      assert.deepEqual(skeleton([subjectTree(chain[i]!)]), skeleton([subjectTree(intel[i]!)]), `subject encoding of chain certificate ${i}`);
    }
  });
});
