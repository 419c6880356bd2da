import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, waitForOutput } from '../helpers/cli.js';
import { freePort } from '../dashboard/start-up.js';

/** Newest modification time under a directory (for the local staleness check of dist/). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestMtime(p) : s.mtimeMs);
  }
  return newest;
}

test('npm start (as on a fresh clone) answers /healthz and serves the dashboard within 60 s', async (t) => {
  // `npm start` runs the compiled dist/ that `npm ci` builds. CI always has a fresh build; a
  // developer checkout may hold an old one, which would test old code: skip locally, never in CI.
  const compiled = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  if (!process.env['CI'] && existsSync(compiled)) {
    const built = statSync(compiled).mtimeMs;
    const stale = ['up', 'dashboard', 'demo'].some((d) => newestMtime(join(REPO_ROOT, 'src', d)) > built);
    if (stale) {
      t.skip('dist/ is older than src/ (run npm run build to check npm start locally)');
      return;
    }
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'kubetee-npm-start-'));
  const started = Date.now();
  const child = spawn('npm', ['start', '--silent', '--', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so npm and node both get the signal
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitForOutput(child, /Press Ctrl\+C to stop/, 60_000);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    assert.ok(Date.now() - started < 60_000);
    const dashboard = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(dashboard.status, 200);
    assert.match(await dashboard.text(), /<h1>Overview<\/h1>/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/assets/htmx.min.js`)).status, 200);
  } finally {
    if (child.pid) process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  }
});
