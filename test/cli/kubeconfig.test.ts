import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBatch } from './in-process.js';

test('doctor and install --dry-run without any kubeconfig say none was found and where they looked (exit 2)', () => {
  const home = mkdtempSync(join(tmpdir(), 'kubetee-home-'));
  // No KUBECONFIG, an empty home, not in a pod: the client library would fall back to http://localhost:8080.
  const env = { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };
  const results = runBatch([{ argv: ['doctor'], env }, { argv: ['install', '--dry-run'], env }]);
  for (const r of results) {
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^kubetee: error \[KUBECONFIG_NOT_FOUND\]: no kubeconfig found; looked at KUBECONFIG \(not set\), .*\.kube\/config \(not found\), in-cluster service account/);
    assert.match(r.stderr, /hint: pass --kubeconfig FILE, set KUBECONFIG/);
    assert.doesNotMatch(r.stderr, /localhost:8080|skipTLSVerify|APPLY_FAILED/);
  }
});
