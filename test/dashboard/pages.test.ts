import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodesBody } from '../../src/dashboard/pages/nodes.js';
import { admissionsBody } from '../../src/dashboard/pages/admissions.js';
import { available } from '../../src/dashboard/model.js';
import { onePerReview } from '../../src/up/adapters/admission.js';
import type { DecisionEntry } from '../../src/webhook/decision-log.js';

const NODE = {
  name: 'n0', source: 'Ice Lake-SP', sgx1: true, sgx2: true, flc: true, driver: 'in-kernel', aesm: true,
  capacityBytes: 4064 * 1048576, allocatedBytes: 0, sections: [], labels: {},
};

test('nodes: an EPC resource is shown in its own unit (MiB devices for *_MiB, bytes otherwise)', () => {
  const alibaba = nodesBody(available([{ ...NODE, resourceName: 'alibabacloud.com/sgx_epc_MiB' }])).toString();
  assert.match(alibaba, /MiB: 4064 \(MiB, one device each\)/);
  assert.doesNotMatch(alibaba, /4261412864/);
  const intel = nodesBody(available([{ ...NODE, resourceName: 'sgx.intel.com/epc' }])).toString();
  assert.match(intel, /epc: 4261412864 bytes/);
});

test('admissions: with no requests the page says so instead of showing bare table headers', () => {
  const page = admissionsBody(available({ byRule: [], recent: [] })).toString();
  assert.match(page, /data-empty="admissions"/);
  assert.doesNotMatch(page, /<table/);
});

test('admissions: rule names may wrap only after their separators, never mid-word', () => {
  const page = admissionsBody(available({ byRule: [{ rule: 'confidential.translate-epc', allowed: 0, mutated: 1, denied: 0 }], recent: [] })).toString();
  assert.match(page, /confidential\.<wbr>translate-<wbr>epc/);
});

test('one decision per admission request: mutated then denied under one uid is one denied row with both rules', () => {
  const e = (phase: 'mutate' | 'validate', uid: string, verdict: DecisionEntry['verdict'], rules: string[], at: string): DecisionEntry => ({ at, phase, uid, pod: 'demo/debug-shell', trust: 'confidential', verdict, rules });
  const rows = onePerReview([
    e('validate', 'u1', 'denied', ['confidential.no-privileged'], '2026-01-01T00:00:02Z'),
    e('mutate', 'u1', 'mutated', ['confidential.translate-epc'], '2026-01-01T00:00:01Z'),
    e('mutate', 'u0', 'mutated', ['confidential.translate-epc'], '2026-01-01T00:00:00Z'),
  ]);
  assert.equal(rows.length, 2);
  assert.equal(rows[0]!.verdict, 'denied');
  assert.deepEqual([...rows[0]!.rules].sort(), ['confidential.no-privileged', 'confidential.translate-epc']);
  assert.equal(rows[1]!.uid, 'u0');
});
