import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, appendFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivityLog } from '../../src/up/activity-log.js';
import { isLoopbackAddress, isLoopbackHost } from '../../src/up/loopback.js';

test('the activity log survives a restart, newest first, bounded, and skips a torn line', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'kubetee-activity-')), 'attestations.jsonl');
  const log = new ActivityLog(path, 3);
  for (let i = 0; i < 5; i++) log.record({ at: `2026-01-0${i + 1}T00:00:00Z`, subject: `s${i}`, verdict: 'released', advisoryIds: [] });
  assert.deepEqual(log.recent().map((e) => e.subject), ['s4', 's3', 's2']);
  appendFileSync(path, '{"at": "torn');
  const again = new ActivityLog(path, 3);
  assert.deepEqual(again.recent().map((e) => e.subject), ['s4', 's3', 's2']);
  // Compacted on load: the file now holds only the kept entries.
  assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 3);
});

test('loopback detection', () => {
  assert.equal(isLoopbackAddress('127.0.0.1'), true);
  assert.equal(isLoopbackAddress('::ffff:127.0.0.1'), true);
  assert.equal(isLoopbackAddress('::1'), true);
  assert.equal(isLoopbackAddress('10.0.0.1'), false);
  assert.equal(isLoopbackAddress(undefined), false);
  assert.equal(isLoopbackHost('localhost'), true);
  assert.equal(isLoopbackHost('0.0.0.0'), false);
});
