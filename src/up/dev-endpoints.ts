import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { QuoteVerifier } from '../attestation/index.js';
import { fromHex } from '../common/hex.js';
import { isLoopbackAddress } from './loopback.js';
import type { SimPlatformStore } from './sim-platform-store.js';

/** Every development-only route lives under this prefix; the name says what it is. */
export const DEV_PREFIX = '/dev/simulated-platform';

const hex32 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 32 bytes as 64 hex digits');
const QuoteRequest = z
  .object({
    mrenclave: hex32,
    mrsigner: hex32,
    debug: z.boolean().default(false),
    isvProdId: z.number().int().min(0).max(65535).default(0),
    isvSvn: z.number().int().min(0).max(65535).default(0),
    /** Up to 64 bytes of hex (the KBS protocol binds its nonce and TEE key here). */
    reportData: z.string().regex(/^([0-9a-fA-F]{2}){0,64}$/, 'expected up to 64 bytes as hex').default(''),
  })
  .strict();

export const DEV_NODE_PREFIX = '/dev/simulated-node';

const PlaceRequest = z.object({ epcMiB: z.number().int().min(1).max(65536) }).strict();

export interface PlatformStatus {
  fmspc: string;
  tcbEvaluationDataNumber: number;
  status: string;
  advisoryIds: string[];
  lastRecoveryAt?: string;
  rootCaSha256: string;
}

/** The platform's TCB status as a verifier trusting its root sees it right now. */
export function platformStatus(store: SimPlatformStore): PlatformStatus {
  const p = store.platform;
  const verifier = new QuoteVerifier({ trustedRootCaDer: [p.rootCaDer], cacheMaxEntries: 0 });
  const r = verifier.verify(p.quote(), p.collateral(), { at: p.now() });
  const out: PlatformStatus = {
    fmspc: p.fmspc,
    tcbEvaluationDataNumber: p.tcbEvaluationDataNumber,
    status: r.status,
    advisoryIds: r.advisoryIds,
    rootCaSha256: createHash('sha256').update(p.rootCaDer).digest('hex'),
  };
  if (p.lastRecoveryAt) out.lastRecoveryAt = p.lastRecoveryAt;
  return out;
}

/**
 * Development-only controls of the simulated SGX platform: quotes for a given
 * enclave identity (what an enclave on this machine would produce), its
 * collateral, and a TCB recovery. Mounted only when `kubetee up` listens on
 * loopback, and every request must also come from loopback; a real
 * deployment has no such routes because it has no simulated platform.
 */
async function loopbackOnly(req: FastifyRequest): Promise<void> {
  if (!isLoopbackAddress(req.socket.remoteAddress)) {
    throw Object.assign(new Error('development endpoints answer loopback clients only'), { statusCode: 403, code: 'DEV_ENDPOINT_LOOPBACK_ONLY' });
  }
}

/**
 * Development-only: schedule the scenario's model-server pod on the simulated
 * node (what kube-scheduler and kubelet would do in a cluster).
 */
export function registerNodeDevEndpoints(app: FastifyInstance, place: (epcMiB: number) => Promise<string>): void {
  app.register(async (dev) => {
    dev.addHook('onRequest', loopbackOnly);
    dev.post('/model-server', async (req, reply) => {
      const parsed = PlaceRequest.safeParse(req.body ?? {});
      if (!parsed.success) {
        return reply.code(400).send({ code: 'DEV_PLACE_REQUEST_INVALID', message: parsed.error.issues.map((i) => i.message).join('; '), hint: 'send JSON {"epcMiB": 512}' });
      }
      return { detail: await place(parsed.data.epcMiB) };
    });
  }, { prefix: DEV_NODE_PREFIX });
}

export function registerDevEndpoints(app: FastifyInstance, store: SimPlatformStore, onChange: () => void = () => undefined): void {
  app.register(async (dev) => {
    dev.addHook('onRequest', loopbackOnly);
    dev.get('/', async () => platformStatus(store));
    dev.get('/collateral', async () => store.platform.collateral());
    // Downloads for the verify page: verify them with the "simulated platform root" anchor.
    dev.get('/collateral.json', async (_req, reply) =>
      reply.header('content-disposition', 'attachment; filename="simulated-collateral.json"').send(store.platform.collateral()),
    );
    dev.get('/sample-quote.dat', async (_req, reply) =>
      reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', 'attachment; filename="simulated-quote.dat"')
        .send(Buffer.from(store.platform.quote({ mrenclave: 'ab'.repeat(32), mrsigner: 'cd'.repeat(32) }))),
    );
    dev.post('/quote', async (req, reply) => {
      const parsed = QuoteRequest.safeParse(req.body ?? {});
      if (!parsed.success) {
        return reply.code(400).send({
          code: 'DEV_QUOTE_REQUEST_INVALID',
          message: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
          hint: 'send JSON {mrenclave, mrsigner, debug?, isvProdId?, isvSvn?, reportData?} with hex values',
        });
      }
      const q = parsed.data;
      const quote = store.platform.quote({
        mrenclave: q.mrenclave,
        mrsigner: q.mrsigner,
        debug: q.debug,
        isvProdId: q.isvProdId,
        isvSvn: q.isvSvn,
        reportData: fromHex(q.reportData) ?? new Uint8Array(),
      });
      return { quote: Buffer.from(quote).toString('base64') };
    });
    dev.post('/tcb-recovery', async () => {
      store.recoverTcb();
      onChange();
      return platformStatus(store);
    });
    dev.post('/update', async () => {
      await store.updatePlatform();
      onChange();
      return platformStatus(store);
    });
  }, { prefix: DEV_PREFIX });
}

export const DEV_SCENARIO_PREFIX = '/dev/scenario-runs';

const bounded = (max: number) => z.string().max(max);
/** A run record as `kubetee demo --url` reports it (bounded: it is shown on the Scenarios page). */
export const ScenarioRunReport = z
  .object({
    name: bounded(64),
    startedAt: bounded(40),
    finishedAt: bounded(40).optional(),
    passed: z.boolean(),
    steps: z.array(z.object({ title: bounded(300), outcome: z.enum(['ok', 'refused-as-expected', 'failed']), detail: bounded(2000) }).strict()).max(50),
  })
  .strict();
export type ScenarioRunReport = z.infer<typeof ScenarioRunReport>;

/**
 * Development-only: a scenario run from the CLI (`kubetee demo --url`) ran
 * against this stack, so it is shown on the Scenarios page like a run from
 * the button. Loopback only, like every development endpoint.
 */
export function registerScenarioDevEndpoints(app: FastifyInstance, names: readonly string[], record: (run: ScenarioRunReport) => void): void {
  app.register(async (dev) => {
    dev.addHook('onRequest', loopbackOnly);
    dev.post('/', async (req, reply) => {
      const parsed = ScenarioRunReport.safeParse(req.body ?? {});
      if (!parsed.success || !names.includes(parsed.data.name)) {
        return reply.code(400).send({ code: 'DEV_SCENARIO_RUN_INVALID', message: parsed.success ? `no scenario named ${parsed.data.name}` : parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '), hint: 'send the run record kubetee demo prints' });
      }
      record(parsed.data);
      return reply.code(204).send();
    });
  }, { prefix: DEV_SCENARIO_PREFIX });
}
