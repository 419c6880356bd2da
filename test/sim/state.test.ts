/**
 * Creation options, persistence (toJSON / fromJSON, as `kubetee up` keeps its
 * data dir) and the typed errors for bad options and bad state files.
 */
import 'reflect-metadata';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { SimulatedPlatform, SimError, type SimPlatformOptions } from '../../src/sim/index.js';

const AT = new Date('2026-02-01T08:00:00Z');

function isSimError(code: string) {
  return (err: unknown): boolean => err instanceof SimError && err.code === code && typeof err.hint === 'string' && err.hint.length > 0;
}

describe('persistence', () => {
  test('a platform saved to disk and restored keeps its keys, certificates, TCB history and revocation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubetee-sim-'));
    try {
      const original = await SimulatedPlatform.create({ now: AT, fmspc: '00a067110000', ca: 'platform' });
      original.recoverTcb();
      original.revokePck();
      const file = join(dir, 'sim-platform.json');
      await writeFile(file, JSON.stringify(original));
      const restored = SimulatedPlatform.fromJSON(JSON.parse(await readFile(file, 'utf8')));

      assert.deepEqual(restored.rootCaDer, original.rootCaDer);
      assert.deepEqual(restored.pckCertificateDer, original.pckCertificateDer);
      assert.equal(restored.fmspc, '00a067110000');
      assert.equal(restored.pckCa, 'platform');
      assert.equal(restored.tcbEvaluationDataNumber, original.tcbEvaluationDataNumber);
      assert.equal(restored.tcbEvaluationDataNumber, 18);
      assert.equal(restored.pckRevoked, true);
      const serial = new x509.X509Certificate(restored.pckCertificateDer).serialNumber.toLowerCase();
      const listed = new x509.X509Crl(Buffer.from(restored.collateral().pck_crl, 'hex')).entries.map((e) => e.serialNumber.toLowerCase());
      assert.ok(listed.includes(serial), 'the revoked PCK is still listed');
      assert.equal(restored.now().getTime(), AT.getTime(), 'a fixed clock is kept');
      assert.deepEqual(restored.toJSON(), original.toJSON());
      // Same TCB Info content (signatures differ: ECDSA is randomised).
      assert.equal(restored.collateral().tcb_info, original.collateral().tcb_info);
      // Same attestation key: the key bytes at offset 500 of the quote.
      assert.deepEqual(restored.quote().subarray(500, 564), original.quote().subarray(500, 564));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('fromJSON can replace the clock', async () => {
    const original = await SimulatedPlatform.create({ now: AT });
    const later = new Date(AT.getTime() + 86_400_000);
    const restored = SimulatedPlatform.fromJSON(original.toJSON(), { now: later });
    assert.equal(restored.now().getTime(), later.getTime());
    assert.equal(Date.parse(JSON.parse(restored.collateral().tcb_info).issueDate), later.getTime() - 3_600_000);
  });

  test('without `now` the platform follows the real clock', async () => {
    const platform = await SimulatedPlatform.create();
    const issued = Date.parse(JSON.parse(platform.collateral().tcb_info).issueDate);
    const expected = Date.now() - 3_600_000;
    assert.ok(Math.abs(issued - expected) < 60_000, `issueDate ${new Date(issued).toISOString()} about an hour ago`);
    assert.equal(platform.toJSON().fixedNow, undefined);
  });

  test('bad state files are one typed error naming the problem', async () => {
    const good = (await SimulatedPlatform.create({ now: AT })).toJSON();
    const cases: Array<[string, unknown]> = [
      ['null', null],
      ['empty object', {}],
      ['other kind', { ...good, kind: 'something-else' }],
      ['newer version', { ...good, version: 2 }],
      ['15 TCB components', { ...good, tcb: { ...good.tcb, sgxTcbComponents: good.tcb.sgxTcbComponents.slice(1) } }],
      ['fmspc not hex', { ...good, fmspc: 'zz906ed50000' }],
      ['garbage key', { ...good, keys: { ...good.keys, root: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' } }],
      ['more TCB updates than recoveries', { ...good, tcbUpdatesApplied: 1 }],
      ['garbage certificate', { ...good, certs: { ...good.certs, pckCa: Buffer.from('not a certificate').toString('base64') } }],
    ];
    for (const [name, state] of cases) {
      assert.throws(() => SimulatedPlatform.fromJSON(state), isSimError('SIM_STATE_INVALID'), name);
    }
    assert.throws(() => SimulatedPlatform.fromJSON({ ...good, fmspc: 'zz906ed50000' }), /fmspc/, 'the message names the field');
  });
});

describe('creation options', () => {
  test('bad options are typed errors with hints', async () => {
    const cases: Array<[string, SimPlatformOptions]> = [
      ['fmspc short', { fmspc: '00906e' }],
      ['fmspc not hex', { fmspc: 'xx906ed50000' }],
      ['pceId 3 digits', { pceId: '000' }],
      ['15 components', { tcb: { sgxTcbComponents: new Array(15).fill(0) } }],
      ['component 256', { tcb: { sgxTcbComponents: [256, ...new Array(15).fill(0)] } }],
      ['pceSvn fractional', { tcb: { pceSvn: 1.5 } }],
      ['qeSvn negative', { qeSvn: -1 }],
      ['unknown CA', { ca: 'intel' as unknown as 'processor' }],
      ['invalid date', { now: new Date('not a date') }],
    ];
    for (const [name, options] of cases) {
      await assert.rejects(SimulatedPlatform.create(options), isSimError('SIM_OPTION_INVALID'), name);
    }
  });

  test('a clock that returns garbage is reported, not signed into collateral', async () => {
    await assert.rejects(SimulatedPlatform.create({ now: () => new Date(Number.NaN) }), isSimError('SIM_OPTION_INVALID'));
    let t = AT;
    const p = await SimulatedPlatform.create({ now: () => t });
    t = new Date(Number.NaN);
    assert.throws(() => p.collateral(), isSimError('SIM_OPTION_INVALID'));
  });

  test('custom FMSPC, PCE-ID, TCB and QE SVN show up in certificate, quote and collateral', async () => {
    const tcb = { sgxTcbComponents: [3, 3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9], pceSvn: 11 };
    const p = await SimulatedPlatform.create({ now: AT, fmspc: '30606A000000', pceId: '0A0B', tcb, qeSvn: 4 });
    assert.equal(p.fmspc, '30606a000000');
    assert.equal(p.pceId, '0a0b');
    assert.deepEqual(p.tcb, tcb);
    const info = JSON.parse(p.collateral().tcb_info);
    assert.equal(info.fmspc, '30606a000000');
    assert.equal(info.pceId, '0a0b');
    const quote = Buffer.from(p.quote());
    assert.equal(quote.readUInt16LE(8), 4);
    assert.equal(quote.readUInt16LE(10), 11);
    assert.equal(JSON.parse(p.collateral().qe_identity).tcbLevels[0].tcb.isvsvn, 4);
  });
});
