import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sealFile, unsealFile } from '../kbs/seal/file.js';
import type { ScenarioRun as ScenarioRunView } from './steps.js';
import type { EnclaveBuild, ModelProtectionPorts, ReleaseOutcome } from './model-protection.js';
import { scenarioRun, type StepReporter } from './steps.js';

/** The broker-facing part of the ports, plus an owner withdrawing their key. */
export interface DataSharingPorts extends Pick<ModelProtectionPorts, 'storeKey' | 'setPolicy' | 'release' | 'workDir'> {
  /** Disables the current version of a key (the owner withdraws consent). */
  disableKey(resourcePath: string): Promise<void>;
}

const hash = (text: string): string => createHash('sha256').update(text).digest('hex');

export const SHARING_BUILDS = {
  agreed: { label: 'joint-analytics v2 (the build both owners reviewed)', mrEnclave: hash('kubetee demo: joint analytics v2'), mrSigner: hash('kubetee demo: neutral build service'), debug: false },
  agreedDebug: { label: 'joint-analytics v2 (debug build)', mrEnclave: hash('kubetee demo: joint analytics v2'), mrSigner: hash('kubetee demo: neutral build service'), debug: true },
  exporterA: { label: "Owner A's export tool", mrEnclave: hash('kubetee demo: owner A export tool'), mrSigner: hash('kubetee demo: owner A signing key'), debug: false },
} satisfies Record<string, EnclaveBuild>;

export const OWNERS = [
  { id: 'a', name: 'Owner A (hospital)', path: 'demo/data-sharing/owner-a-key' },
  { id: 'b', name: 'Owner B (insurer)', path: 'demo/data-sharing/owner-b-key' },
] as const;

/** Each owner's policy names only the agreed build; neither can widen the other's. */
export function sharingPolicy(owner: string, mrEnclave: string): string {
  return [`# ${owner}: release only to the jointly reviewed analytics enclave.`, 'acceptedStatuses: [UpToDate, SWHardeningNeeded]', 'allowDebug: false', 'rules:', '  - name: agreed joint-analytics build', `    expr: mrenclave == "${mrEnclave}"`, ''].join('\n');
}

/** Synthetic record ids: owner A holds 0..1999, owner B every third id from 900 up; 367 are shared. */
export function datasetFor(owner: 'a' | 'b'): string {
  const ids = owner === 'a' ? Array.from({ length: 2000 }, (_, i) => i) : Array.from({ length: 700 }, (_, i) => 900 + 3 * i);
  return `record_id\n${ids.map((id) => `P${String(id).padStart(6, '0')}`).join('\n')}\n`;
}

function ids(csv: string): Set<string> {
  return new Set(csv.trim().split('\n').slice(1));
}

/**
 * Two owners each seal a dataset and release its key only to the agreed
 * enclave. The agreed enclave joins both; another enclave, a debug build, and
 * any release after an owner withdraws are refused.
 */
export async function runDataSharing(ports: DataSharingPorts, report: StepReporter = () => undefined, now: () => Date = () => new Date()): Promise<ScenarioRunView> {
  const { step, finish } = scenarioRun('data-sharing', report, now);
  const { agreed, agreedDebug, exporterA } = SHARING_BUILDS;
  await mkdir(ports.workDir, { recursive: true, mode: 0o700 });
  const sealed = (id: string): string => join(ports.workDir, `owner-${id}.csv.sealed`);

  for (const owner of OWNERS) {
    const ok = await step(`${owner.name} seals its dataset, stores the key and allows only the agreed enclave`, async () => {
      const plain = join(ports.workDir, `owner-${owner.id}.csv`);
      const data = datasetFor(owner.id);
      await writeFile(plain, data, { mode: 0o600 });
      const key = randomBytes(32);
      try {
        await sealFile(plain, sealed(owner.id), key, { resourcePath: owner.path });
        const version = await ports.storeKey(owner.path, key);
        await ports.setPolicy(owner.path, sharingPolicy(owner.name, agreed.mrEnclave));
        return { outcome: 'ok', detail: `${ids(data).size} records sealed; key ${owner.path} v${version}; policy: mrenclave == ${agreed.mrEnclave.slice(0, 16)}…` };
      } finally {
        key.fill(0);
        await rm(plain, { force: true });
      }
    });
    if (!ok) return finish();
  }

  const open = async (id: string, r: ReleaseOutcome & { released: true }): Promise<Set<string>> => {
    const out = join(ports.workDir, `owner-${id}.csv.unsealed`);
    try {
      await unsealFile(sealed(id), out, { resolveKey: () => r.value });
      return ids(await readFile(out, 'utf8'));
    } finally {
      r.value.fill(0);
      await rm(out, { force: true });
    }
  };

  await step(`Enclave ${agreed.label} gets both keys and joins the datasets`, async () => {
    const [a, b] = [await ports.release(OWNERS[0].path, agreed), await ports.release(OWNERS[1].path, agreed)];
    if (!a.released || !b.released) return { outcome: 'failed', detail: `refused: ${!a.released ? a.reason : ''} ${!b.released ? b.reason : ''}` };
    const [setA, setB] = [await open('a', a), await open('b', b)];
    const shared = [...setA].filter((x) => setB.has(x)).length;
    return { outcome: shared === 367 ? 'ok' : 'failed', detail: `both keys released; ${setA.size} + ${setB.size} records, ${shared} in common (only the count leaves the enclave)` };
  });

  const expectRefused = async (title: string, path: string, build: EnclaveBuild): Promise<void> => {
    await step(title, async () => {
      const r = await ports.release(path, build);
      if (r.released) {
        r.value.fill(0);
        return { outcome: 'failed', detail: 'the key was released, but the owner did not agree to this' };
      }
      return { outcome: 'refused-as-expected', detail: `${r.code}: ${r.reason}` };
    });
  };
  await expectRefused(`${exporterA.label} asks for Owner B's key`, OWNERS[1].path, exporterA);
  await expectRefused(`A ${agreedDebug.label} asks for Owner A's key`, OWNERS[0].path, agreedDebug);

  const withdrawn = await step('Owner B withdraws: it disables its key version', async () => {
    await ports.disableKey(OWNERS[1].path);
    return { outcome: 'ok', detail: `${OWNERS[1].path}: current version disabled` };
  });
  if (withdrawn) {
    await step(`Enclave ${agreed.label} asks again: Owner A still releases, Owner B no longer does`, async () => {
      const [a, b] = [await ports.release(OWNERS[0].path, agreed), await ports.release(OWNERS[1].path, agreed)];
      if (a.released) a.value.fill(0);
      if (b.released) {
        b.value.fill(0);
        return { outcome: 'failed', detail: "Owner B's withdrawn key was still released" };
      }
      if (!a.released) return { outcome: 'failed', detail: `Owner A's key was refused too: ${a.reason}` };
      return { outcome: 'refused-as-expected', detail: `Owner A: released; Owner B: ${b.code}: ${b.reason}` };
    });
  }
  return finish();
}
