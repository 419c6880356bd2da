import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sealFile, unsealFile } from '../kbs/seal/file.js';
import type { ScenarioRun as ScenarioRunView } from './steps.js';
import { scenarioRun, type StepReporter } from './steps.js';
import { modelServerPod, type AdmissionOutcome } from './admission.js';

/** An enclave build as the simulated platform will report it in its quote. */
export interface EnclaveBuild {
  /** Shown in step titles and the audit trail. */
  label: string;
  mrEnclave: string;
  mrSigner: string;
  debug: boolean;
}

export type ReleaseOutcome =
  | { released: true; value: Uint8Array; tcbStatus?: string }
  | { released: false; code: string; reason: string; tcbStatus?: string };

/**
 * What the scenario needs from the stack. `kubetee demo model-protection
 * --url` implements it over HTTP against a running `kubetee up`; the dashboard
 * button uses the same HTTP implementation against its own URL, so both go
 * through the real key broker protocol and admin API.
 */
export interface ModelProtectionPorts {
  /** Stores the model key as a secret (new version if it exists); returns the version. */
  storeKey(resourcePath: string, key: Uint8Array): Promise<number>;
  /** Sets the release policy document (YAML) of the resource. */
  setPolicy(resourcePath: string, policyYaml: string): Promise<void>;
  /** Attests as `build` on the simulated platform and asks for the resource. */
  release(resourcePath: string, build: EnclaveBuild): Promise<ReleaseOutcome>;
  /** Development endpoint: Intel publishes a TCB recovery; returns the platform's new status. */
  tcbRecovery(): Promise<string>;
  /** Development endpoint: the platform gets the microcode/SVN update; returns its new status. */
  updatePlatform(): Promise<string>;
  /**
   * Schedules the model-server pod on the simulated SGX node (kubelet
   * allocates EPC through the device plugin); returns where it landed.
   * Absent when the stack has no simulated node.
   */
  placeModelServerPod?(epcMiB: number): Promise<string>;
  /** Sends a pod through the admission webhook of a `confidential` namespace. Absent without a webhook. */
  admitPod?(phase: 'mutate' | 'validate', pod: Record<string, unknown>, uid?: string): Promise<AdmissionOutcome>;
  /** Where the owner's model file and its sealed copy are written. */
  workDir: string;
}

/** EPC the model-server enclave asks for. */
export const MODEL_SERVER_EPC_MIB = 512;

const hash = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The fixed identities of the demo: stable across runs so the audit trail reads the same. */
export const DEMO_BUILDS = {
  modelServer: { label: 'model-server v1.0 (release build)', mrEnclave: hash('kubetee demo: model-server v1.0 release'), mrSigner: hash('kubetee demo: model owner signing key'), debug: false },
  debugBuild: { label: 'model-server v1.0 (debug build)', mrEnclave: hash('kubetee demo: model-server v1.0 release'), mrSigner: hash('kubetee demo: model owner signing key'), debug: true },
  otherBuild: { label: 'model-server v1.1-unreviewed (other MRENCLAVE)', mrEnclave: hash('kubetee demo: model-server v1.1 unreviewed'), mrSigner: hash('kubetee demo: model owner signing key'), debug: false },
} satisfies Record<string, EnclaveBuild>;

export const MODEL_RESOURCE_PATH = 'demo/model-protection/model-key';

/** The release policy of the model key: one MRENCLAVE, no debug, UpToDate or SWHardeningNeeded only. */
export function modelPolicy(mrEnclave: string): string {
  return [
    '# Release the model key only to the reviewed model server build.',
    'acceptedStatuses: [UpToDate, SWHardeningNeeded]',
    'allowDebug: false',
    'rules:',
    '  - name: reviewed model-server build',
    `    expr: mrenclave == "${mrEnclave}"`,
    '',
  ].join('\n');
}

/** A synthetic "model": deterministic bytes with a readable header, big enough to span several seal chunks. */
export function demoModelBytes(sizeBytes = 3 * 1024 * 1024 + 123): Buffer {
  const out = Buffer.alloc(sizeBytes);
  const header = Buffer.from('kubetee demo model: weights are not real\n');
  header.copy(out);
  let block = createHash('sha256').update('kubetee demo model seed').digest();
  for (let off = header.length; off < sizeBytes; off += block.length) {
    block = createHash('sha256').update(block).digest();
    block.copy(out, off, 0, Math.min(block.length, sizeBytes - off));
  }
  return out;
}

export type { StepReporter } from './steps.js';

/**
 * The protected-model scenario. Each step says what it proves; a step that
 * should be refused passes only when the broker refuses it, and a release that
 * should succeed passes only when the unsealed model is byte-identical.
 */
export async function runModelProtection(ports: ModelProtectionPorts, report: StepReporter = () => undefined, now: () => Date = () => new Date()): Promise<ScenarioRunView> {
  const { step, finish } = scenarioRun('model-protection', report, now);
  const { modelServer, debugBuild, otherBuild } = DEMO_BUILDS;
  const path = MODEL_RESOURCE_PATH;
  const modelPath = join(ports.workDir, 'model.bin');
  const sealedPath = join(ports.workDir, 'model.bin.sealed');
  const openedPath = join(ports.workDir, 'model.bin.unsealed');

  let modelDigest = '';
  const sealed = await step('Model owner seals the model file with a fresh key and stores the key in the key broker', async () => {
    await mkdir(ports.workDir, { recursive: true, mode: 0o700 });
    const model = demoModelBytes();
    modelDigest = createHash('sha256').update(model).digest('hex');
    await writeFile(modelPath, model, { mode: 0o600 });
    const key = randomBytes(32);
    try {
      const { sealedBytes } = await sealFile(modelPath, sealedPath, key, { resourcePath: path });
      const version = await ports.storeKey(path, key);
      return { outcome: 'ok', detail: `sealed ${model.length} bytes into ${sealedBytes} bytes (AES-256-GCM chunks); key stored as ${path} version ${version}; model sha256 ${modelDigest.slice(0, 16)}…` };
    } finally {
      key.fill(0);
    }
  });
  if (!sealed) return finish();

  const policySet = await step('Owner sets the release policy: this MRENCLAVE only, no debug, TCB UpToDate or SWHardeningNeeded', async () => {
    await ports.setPolicy(path, modelPolicy(modelServer.mrEnclave));
    return { outcome: 'ok', detail: `policy on ${path}: mrenclave == ${modelServer.mrEnclave.slice(0, 16)}…, acceptedStatuses [UpToDate, SWHardeningNeeded], allowDebug false` };
  });
  if (!policySet) return finish();

  if (ports.admitPod) {
    const admit = ports.admitPod;
    await step('The model-server pod is admitted to the confidential namespace: the webhook wires SGX devices, AESM and node placement', async () => {
      const r = await admit('mutate', modelServerPod(MODEL_SERVER_EPC_MIB));
      return r.allowed && r.patchOps > 0
        ? { outcome: 'ok', detail: `admitted with ${r.patchOps} JSON-patch operations (EPC translated to the node's resource, devices, AESM socket, affinity, toleration)` }
        : { outcome: 'failed', detail: r.allowed ? 'admitted without any wiring' : `denied: ${r.message}` };
    });
    await step('A privileged debug shell in the same namespace is refused by the webhook', async () => {
      // As in a cluster: mutating webhooks run first, validation sees the mutated pod.
      const mutated = await admit('mutate', modelServerPod(MODEL_SERVER_EPC_MIB, true));
      // The same admission request as the mutation (one uid), as the API server sends it: one decision on the dashboard.
      const r = await admit('validate', mutated.pod, mutated.uid);
      return r.allowed ? { outcome: 'failed', detail: 'a privileged pod was admitted to a confidential namespace' } : { outcome: 'refused-as-expected', detail: r.message };
    });
  }

  if (ports.placeModelServerPod) {
    const place = ports.placeModelServerPod;
    await step(`The model-server pod is scheduled on the SGX node: kubelet allocates ${MODEL_SERVER_EPC_MIB} MiB of EPC through the device plugin`, async () => ({
      outcome: 'ok',
      detail: await place(MODEL_SERVER_EPC_MIB),
    }));
  }

  const expectRelease = async (title: string): Promise<void> => {
    await step(title, async () => {
      const r = await ports.release(path, modelServer);
      if (!r.released) return { outcome: 'failed', detail: `refused (${r.code}): ${r.reason}` };
      try {
        await unsealFile(sealedPath, openedPath, { resolveKey: () => r.value });
      } finally {
        r.value.fill(0);
      }
      const digest = createHash('sha256').update(await readFile(openedPath)).digest('hex');
      await rm(openedPath, { force: true });
      if (digest !== modelDigest) return { outcome: 'failed', detail: `unsealed model differs from the original (sha256 ${digest})` };
      return { outcome: 'ok', detail: `attested (TCB ${r.tcbStatus ?? 'status not reported'}), key released, model unsealed and byte-identical (sha256 ${digest.slice(0, 16)}…)` };
    });
  };
  const expectRefusal = async (title: string, build: EnclaveBuild): Promise<void> => {
    await step(title, async () => {
      const r = await ports.release(path, build);
      if (r.released) {
        r.value.fill(0);
        return { outcome: 'failed', detail: 'the key was released, but the policy should have refused it' };
      }
      return { outcome: 'refused-as-expected', detail: `${r.code}: ${r.reason}${r.tcbStatus ? ` (TCB ${r.tcbStatus})` : ''}` };
    });
  };

  await expectRelease(`Enclave ${modelServer.label} attests and unseals the model`);
  await expectRefusal(`A ${debugBuild.label} with the same MRENCLAVE asks for the key`, debugBuild);
  await expectRefusal(`Enclave ${otherBuild.label} asks for the key`, otherBuild);
  const recovered = await step('Intel publishes a TCB recovery (simulated): the platform is now OutOfDate', async () => {
    const status = await ports.tcbRecovery();
    return { outcome: status === 'OutOfDate' ? 'ok' : 'failed', detail: `platform TCB status after the recovery: ${status}` };
  });
  if (recovered) {
    await expectRefusal(`Enclave ${modelServer.label} asks again on the OutOfDate platform`, modelServer);
    const updated = await step('The platform is updated (simulated: re-provisioned with a new PCK certificate at the current TCB level)', async () => {
      const status = await ports.updatePlatform();
      return { outcome: status === 'UpToDate' || status === 'SWHardeningNeeded' ? 'ok' : 'failed', detail: `platform TCB status after the update: ${status}` };
    });
    if (updated) await expectRelease(`Enclave ${modelServer.label} attests again and gets the key back`);
  }
  await rm(modelPath, { force: true });
  return finish();
}

