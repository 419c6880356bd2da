import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { registerDashboard } from '../dashboard/routes.js';
import { ActivityLog } from './activity-log.js';
import { assertCanListen, ensureDataDir, startControlPlane, type ControlPlane, type ControlPlaneComponent } from './control-plane.js';
import { LocalDashboardSource, type LocalParts } from './dashboard-source.js';
import type { Part } from './parts.js';
import { isLoopbackHost } from './loopback.js';
import { hostGuard } from './host-guard.js';
import { lockDataDir } from './data-dir-lock.js';
import { SimPlatformStore, SIM_STATE_FILE } from './sim-platform-store.js';
import { DEV_PREFIX, platformStatus, registerDevEndpoints, registerNodeDevEndpoints, registerScenarioDevEndpoints } from './dev-endpoints.js';
import { apiIndexes } from './api-index.js';
import { verifierPart } from './adapters/verifier.js';
import { openLocalBroker } from './adapters/broker.js';
import { localScenarioPorts, placeModelServer, scenarioRunner, SCENARIO_NAMES } from './adapters/scenario.js';
import { startSimulatedNode, SIM_NODE_NAME, type SimulatedNode } from './adapters/node.js';
import { localAdmission, WEBHOOK_PREFIX } from './adapters/admission.js';
import { describeError } from '../common/errors.js';
import type { StepReporter } from '../demo/model-protection.js';
import type { ScenarioRunView } from '../dashboard/model.js';

export interface LocalStackOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  dataDir: string;
  logger: Logger;
}

/** Everything a component adapter may use while it loads. */
export interface StackContext {
  dataDir: string;
  logger: Logger;
  activity: ActivityLog;
  /** Development-only endpoints (simulated platform controls) are mounted only on loopback listeners. */
  devEndpoints: boolean;
}

export function notAvailable<T>(name: string, detail: string): Part<T> {
  return { status: { name, available: false, detail } };
}

/**
 * `kubetee up`: the key broker, quote verifier, admission webhook, a simulated
 * SGX node and the dashboard in one process on one loopback port. State lives
 * in the data dir, so a restart shows the same secrets, audit trail and
 * simulated platform.
 */
export interface LocalStack extends ControlPlane {
  /** Runs a scenario in this process (what the dashboard button does). */
  runScenario(name: string, report?: StepReporter): Promise<ScenarioRunView>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  // Cheap checks first, so a busy port or a data dir in use leaves nothing behind: no data dir
  // created, no device plugin started, nothing registered with the kubelet stand-in.
  await assertCanListen(options.host, options.port);
  ensureDataDir(options.dataDir);
  const lock = lockDataDir(options.dataDir);
  try {
    return await startLocked(options, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(options: LocalStackOptions, lock: { release(): void }): Promise<LocalStack> {
  const activity = new ActivityLog(join(options.dataDir, 'attestations.jsonl'));
  const ctx: StackContext = { dataDir: options.dataDir, logger: options.logger, activity, devEndpoints: isLoopbackHost(options.host) };
  void ctx; // handed to the component adapters
  const sim = await SimPlatformStore.open(options.dataDir);

  const simPart: Part<never> = {
    status: { name: 'simulated SGX platform', available: true, detail: `state in ${join(options.dataDir, SIM_STATE_FILE)}` },
    component: {
      name: 'simulated SGX platform',
      register: (app) => {
        if (ctx.devEndpoints) registerDevEndpoints(app, sim);
      },
      services: (url) => [
        ctx.devEndpoints
          ? { name: 'simulated platform', where: `${url}${DEV_PREFIX}`, note: `development only, loopback only; TCB ${platformStatus(sim).status}` }
          : { name: 'simulated platform', where: '(development endpoints off: not listening on loopback)' },
      ],
    },
  };
  let url = '';
  // The simulated node is optional: if its sockets cannot be created the rest of the stack still runs.
  let simNode: SimulatedNode | undefined;
  let nodeProblem = '';
  try {
    simNode = await startSimulatedNode(options.dataDir, options.logger);
  } catch (err) {
    nodeProblem = describeError(err);
    options.logger.warn({ err: nodeProblem }, 'simulated SGX node not started');
  }
  const admission = localAdmission(options.logger);
  let broker: Awaited<ReturnType<typeof openLocalBroker>>;
  try {
    broker = await openLocalBroker(options.dataDir, sim, options.logger);
  } catch (err) {
    await simNode?.close();
    throw err;
  }
  const parts: LocalParts = {
    broker: {
      status: { name: 'key broker', available: true, detail: `SQLite in ${options.dataDir}; trusts the simulated SGX root (development only)` },
      component: broker.component,
      api: broker.views,
    },
    verifier: {
      status: { name: 'quote verifier', available: true, detail: 'Intel DCAP, offline; try the Verify a quote page' },
      api: verifierPart(() => sim.platform.rootCaDer),
    },
    admission: {
      status: { name: 'admission webhook', available: true, detail: `${WEBHOOK_PREFIX}/mutate and /validate per trust level; default policy` },
      ...admission,
    },
    node: simNode
      ? {
          status: { name: 'simulated SGX node', available: true, detail: `${SIM_NODE_NAME}: node agent + device plugin registered with a kubelet stand-in over unix sockets` },
          component: {
            name: 'simulated SGX node',
            register: (app) => {
              if (ctx.devEndpoints) registerNodeDevEndpoints(app, (epcMiB) => placeModelServer(simNode!, epcMiB));
            },
            close: () => simNode!.close(),
          },
          api: simNode,
        }
      : notAvailable('simulated SGX node', `did not start: ${nodeProblem}`),
    scenario: !ctx.devEndpoints
      ? notAvailable('scenarios', 'scenarios run only when kubetee up listens on loopback (they write demo keys without a login)')
      : {
          status: { name: 'scenarios', available: true, detail: 'protected model and data sharing: the Scenarios page, or kubetee demo model-protection | data-sharing' },
          component: {
            name: 'scenarios',
            // Runs of `kubetee demo --url` against this stack are reported here and shown on the Scenarios page.
            register: (app) => registerScenarioDevEndpoints(app, SCENARIO_NAMES, (run) => source.recordScenarioRun(run)),
            started: (u) => void (url = u),
          },
          api: scenarioRunner(() => localScenarioPorts({ url: () => url, service: broker.data.service, sim, dataDir: options.dataDir, ...(simNode ? { node: simNode } : {}) })),
        },
    extra: [simPart.status],
    samples: ctx.devEndpoints
      ? [
          { label: 'a simulated quote', href: `${DEV_PREFIX}/sample-quote.dat` },
          { label: 'its collateral', href: `${DEV_PREFIX}/collateral.json` },
        ]
      : [],
  };
  const source = new LocalDashboardSource(parts, activity);
  const dashboard: ControlPlaneComponent = {
    name: 'dashboard',
    register: (app) => registerDashboard(app, { source }),
    services: (url) => [{ name: 'dashboard', where: `${url}/` }],
    nextSteps: (url) => [
      `open ${url}/ in a browser`,
      `curl ${url}/healthz`,
      ...(parts.scenario.api ? [`npx kubetee demo model-protection --url ${url}`, `npx kubetee demo data-sharing --url ${url}`] : []),
      `open ${url}/verify and upload a quote with its collateral`,
    ],
  };
  const components = [simPart, parts.broker, parts.verifier, parts.admission, parts.node, parts.scenario]
    .map((p) => p.component)
    .filter((c): c is ControlPlaneComponent => c !== undefined);
  // On loopback, refuse DNS-rebound and cross-site requests; elsewhere say loudly that nothing is protected.
  const guard: ControlPlaneComponent[] = ctx.devEndpoints
    ? [hostGuard()]
    : [{ name: 'exposure warning', register: () => undefined, services: () => [{ name: 'WARNING', where: `listening on ${options.host}: the dashboard has no login and scenarios are off; use a loopback address` }] }];
  // First in the list, so it is released last, after every socket is closed.
  const lockPart: ControlPlaneComponent = { name: 'data dir lock', register: () => undefined, close: () => lock.release() };
  const plane = await startControlPlane({ ...options, components: [lockPart, ...guard, ...components, apiIndexes(), dashboard] });
  return Object.assign(plane, { runScenario: (name: string, report?: StepReporter) => source.runScenario(name, report) });
}
