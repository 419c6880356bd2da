import { join } from 'node:path';
import type { SecretService } from '../../kbs/secrets/service.js';
import { compilePolicy } from '../../kbs/policy/engine.js';
import { runModelProtection, type ModelProtectionPorts, type StepReporter } from '../../demo/model-protection.js';
import { runDataSharing, type DataSharingPorts } from '../../demo/data-sharing.js';
import { releaseOverKbs } from '../../demo/release.js';
import { reviewPod } from '../../demo/admission.js';
import type { PlatformApi } from '../../demo/ports.js';
import type { ScenarioRunView } from '../../dashboard/model.js';
import type { SimPlatformStore } from '../sim-platform-store.js';
import { platformStatus } from '../dev-endpoints.js';
import { SIM_NODE_NAME, type SimulatedNode } from './node.js';

/** Audit actor of the owner steps when the scenario runs inside `kubetee up`. */
export const SCENARIO_ACTOR = 'demo:model-owner';

export const SCENARIO_NAMES = ['model-protection', 'data-sharing'] as const;

/** The simulated machine, in process. */
export function localPlatform(sim: SimPlatformStore): PlatformApi {
  return {
    quote: async (build, reportData) => sim.platform.quote({ mrenclave: build.mrEnclave, mrsigner: build.mrSigner, debug: build.debug, reportData }),
    tcbRecovery: async () => {
      sim.recoverTcb();
      return platformStatus(sim).status;
    },
    updatePlatform: async () => {
      await sim.updatePlatform();
      return platformStatus(sim).status;
    },
  };
}

/**
 * The scenario as the dashboard button (and `kubetee demo` without --url)
 * runs it: the owner's steps call the secret service directly (audited as
 * `demo:model-owner`), every release goes through the real KBS protocol over
 * HTTP to this server's own URL.
 */
export function localScenarioPorts(options: { url: () => string; service: SecretService; sim: SimPlatformStore; dataDir: string; node?: SimulatedNode }): ModelProtectionPorts & DataSharingPorts {
  const platform = localPlatform(options.sim);
  return {
    storeKey: async (path, key) => (await options.service.put(SCENARIO_ACTOR, { path, value: key, description: 'demo: key of the sealed model file' })).currentVersion,
    setPolicy: async (path, policy) => {
      compilePolicy(policy, `policy for ${path}`); // refuse what the admin API would refuse
      await options.service.setPolicy(SCENARIO_ACTOR, path, policy);
    },
    disableKey: async (path) => void (await options.service.disable(SCENARIO_ACTOR, path)),
    release: (path, build) => releaseOverKbs(options.url(), platform, path, build),
    tcbRecovery: () => platform.tcbRecovery(),
    updatePlatform: () => platform.updatePlatform(),
    admitPod: (phase, pod, uid) => reviewPod(options.url(), phase, pod, uid),
    ...(options.node ? { placeModelServerPod: (epcMiB: number) => placeModelServer(options.node!, epcMiB) } : {}),
    workDir: join(options.dataDir, 'demo', 'model-protection'),
  };
}

export const MODEL_SERVER_POD = { namespace: 'demo', name: 'model-server' } as const;

export async function placeModelServer(node: SimulatedNode, epcMiB: number): Promise<string> {
  const r = await node.placePod(MODEL_SERVER_POD.namespace, MODEL_SERVER_POD.name, epcMiB);
  return `${MODEL_SERVER_POD.namespace}/${MODEL_SERVER_POD.name} got ${r.epcBytes / 1048576} MiB of EPC on NUMA node ${r.numaNodes.join(', ')} of ${SIM_NODE_NAME}`;
}

export function scenarioRunner(ports: () => ModelProtectionPorts & DataSharingPorts): { names: string[]; run(name: string, report?: StepReporter): Promise<ScenarioRunView> } {
  return {
    names: [...SCENARIO_NAMES],
    run: (name, report) => {
      const p = ports();
      return name === 'data-sharing' ? runDataSharing({ ...p, workDir: join(p.workDir, '..', 'data-sharing') }, report) : runModelProtection(p, report);
    },
  };
}
