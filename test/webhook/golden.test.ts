import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli.js';
import type { ResourceProfile, TrustLevel } from '../../src/common/labels.js';
import { applyJsonPatch } from '../../src/webhook/json-patch.js';
import { assertValidPod, decodePatch, handlerFor } from './helpers.js';
import type { AdmissionReviewResponse } from '../../src/webhook/review.js';

const dir = join(REPO_ROOT, 'test', 'webhook', 'fixtures');
const cases: [string, TrustLevel, ResourceProfile][] = [
  ['confidential-intel-aesmd', 'confidential', 'intel'],
  ['sandboxed-plain', 'sandboxed', 'alibaba'],
  ['standard-provision', 'standard', 'intel'],
];

for (const [name, level, profile] of cases) {
  test(`golden: ${name} (${level}, ${profile})`, async () => {
    const review = JSON.parse(readFileSync(join(dir, `${name}.review.json`), 'utf8'));
    const h = handlerFor(profile);
    const m = (await h.review('mutate', review, level)).body as AdmissionReviewResponse;
    const patch = decodePatch(m);
    const patched = m.response.allowed ? applyJsonPatch(review.request.object, patch) : review.request.object;
    assertValidPod(patched);
    const v = (await h.review('validate', { ...review, request: { ...review.request, object: patched } }, level)).body as AdmissionReviewResponse;
    assert.equal(m.response.uid, review.request.uid);
    assert.equal(v.response.uid, review.request.uid);
    const actual = { patch, allowed: v.response.allowed, message: v.response.status?.message ?? null, auditAnnotations: v.response.auditAnnotations ?? null };
    const expectedPath = join(dir, `${name}.expected.json`);
    if (process.env['KUBETEE_UPDATE_GOLDEN'] === '1') writeFileSync(expectedPath, `${JSON.stringify(actual, null, 2)}\n`);
    assert.deepEqual(actual, JSON.parse(readFileSync(expectedPath, 'utf8')));
  });
}
