import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, runCli } from '../helpers/cli.js';

const MAIN = fileURLToPath(new URL('../../src/cli/run.ts', import.meta.url));
// A module hook that reports every module the CLI loads (registered before tsx, so it sees the sources).
const RECORDER = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent('export async function resolve(s, c, n) { const r = await n(s, c); if (r.url.startsWith("file:")) process.stderr.write("LOADED " + r.url + "\\\\n"); return r; }'));`,
)}`;

/** The project modules (src/...) and packages (node_modules/<name>) a command loads. */
function loaded(args: string[]): { src: Set<string>; packages: Set<string>; status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', RECORDER, '--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  const urls = [...r.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => fileURLToPath(m[1]!));
  const src = new Set(urls.map((p) => /\/src\/(.+)$/.exec(p)?.[1]).filter((x): x is string => !!x));
  const packages = new Set(urls.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1]).filter((x): x is string => !!x && x !== 'tsx' && x !== 'esbuild' && x !== 'get-tsconfig' && x !== 'resolve-pkg-maps'));
  return { src, packages, status: r.status, stderr: r.stderr.replace(/^LOADED .*\n/gm, '') };
}

test('kubetee --help and --version load only the CLI shell: no command module, no package but commander', () => {
  for (const args of [['--help'], ['--version']]) {
    const r = loaded(args);
    assert.equal(r.status, 0, r.stderr);
    const outside = [...r.src].filter((m) => !/^(cli\/(main|commands|exit-status|help-format|run)|common\/(errors|version))\.ts$/.test(m));
    assert.deepEqual(outside, [], `kubetee ${args[0]} loads ${outside.join(', ')}`);
    assert.deepEqual([...r.packages], ['commander']);
  }
});

test('kubetee attest verify loads the verifier and nothing of the broker, deploy, webhook, dashboard or their packages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubetee-graph-'));
  const state = join(dir, 'sim.json');
  for (const a of [['sim', 'init', '--state', state], ['sim', 'quote', '--state', state, '--out', join(dir, 'q.dat')], ['sim', 'collateral', '--state', state, '--out', join(dir, 'c.json')], ['sim', 'root', '--state', state, '--out', join(dir, 'root.pem')]]) {
    assert.equal(runCli(a).status, 0);
  }
  const r = loaded(['attest', 'verify', '--quote', join(dir, 'q.dat'), '--collateral', join(dir, 'c.json'), '--trust-root', join(dir, 'root.pem')]);
  assert.equal(r.status, 0, r.stderr);
  const outside = [...r.src].filter((m) => !/^(cli|common|attestation)\//.test(m));
  assert.deepEqual(outside, [], `attest verify loads ${outside.join(', ')}`);
  assert.deepEqual([...r.packages].sort(), ['commander']);
});
