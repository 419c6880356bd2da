// `npm run bench [name ...]`: runs every benchmark in bench/ (each a
// `<name>.ts` that prints its own results, measured side by side with the
// reference it is compared against, as ratios). Benchmarks are not tests:
// they report numbers, they do not pass or fail on timing.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

if (benches.length === 0) {
  console.log(wanted.length ? `no benchmark named ${wanted.join(', ')} in bench/` : 'no benchmarks yet in bench/');
  process.exit(wanted.length ? 1 : 0);
}
let failed = 0;
for (const name of benches) {
  console.log(`\n=== bench/${name}.ts ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${name}.ts`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
