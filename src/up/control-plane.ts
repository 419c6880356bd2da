import { UpError } from './errors.js';
import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger } from 'fastify';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Logger } from '../common/log.js';
import { VERSION } from '../common/version.js';

export interface ControlPlaneOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  dataDir: string;
  logger: Logger;
  /** Parts mounted on the same server (key broker, webhook, dashboard, ...), in order. */
  components?: ControlPlaneComponent[];
}

/**
 * A part of the control plane. `register` adds routes before the server
 * listens; `started` runs once the URL is known; `close` runs in reverse order
 * on shutdown.
 */
export interface ControlPlaneComponent {
  name: string;
  register(app: FastifyInstance): Promise<void> | void;
  started?(url: string): Promise<void> | void;
  services?(url: string): ServiceLine[];
  /** Lines for the "try next" part of the startup screen. */
  nextSteps?(url: string): string[];
  close?(): Promise<void> | void;
}

/** One line of the startup screen: what runs and where. */
export interface ServiceLine {
  name: string;
  where: string;
  note?: string;
}

export interface ControlPlane {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly services: ServiceLine[];
  banner(): string;
  close(): Promise<void>;
}

/** Creates the data directory (owner-only) or fails with DATA_DIR_UNUSABLE. */
export function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new UpError('DATA_DIR_UNUSABLE', `cannot create the data directory ${dataDir}: ${(err as Error).message}`, {
      cause: err,
      hint: 'pass --data-dir with a directory you can write to',
    });
  }
}

/** The error for a listen failure, the same whether found by the early probe or by the real listen. */
function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new UpError('PORT_IN_USE', `port ${port} on ${host} is already in use`, {
      cause: err,
      hint: 'stop the process that holds it or pass --port <another port>; if it is another kubetee up, use it: kubetee demo model-protection --url http://' + `${host.includes(':') ? `[${host}]` : host}:${port}`,
    });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') {
    return new UpError('LISTEN_FAILED', `cannot listen on ${host}:${port} (${code})`, { cause: err, hint: 'check --host and --port' });
  }
  return err;
}

/**
 * Fails with PORT_IN_USE / LISTEN_FAILED before anything is started, by
 * binding the address for a moment. (The real listen can still lose a race;
 * then startControlPlane reports the same error and closes what it started.)
 */
export async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenError(err, host, port)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * Starts the local control plane in this process. Components attach to the
 * one fastify instance so everything answers on a single loopback port.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  ensureDataDir(options.dataDir);
  const startedAt = new Date();
  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  app.get('/healthz', async () => ({ status: 'ok', version: VERSION, startedAt: startedAt.toISOString() }));
  app.get('/version', async () => ({ name: 'kubetee', version: VERSION, node: process.version }));
  const components = options.components ?? [];
  const closeComponents = async (): Promise<void> => {
    for (const c of [...components].reverse()) {
      try {
        await c.close?.();
      } catch (err) {
        options.logger.warn({ component: c.name, err: (err as Error).message }, 'component did not close cleanly');
      }
    }
  };
  try {
    for (const c of components) await c.register(app);
  } catch (err) {
    await app.close().catch(() => undefined);
    await closeComponents();
    throw err;
  }

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    await closeComponents();
    throw listenError(err, options.host, options.port);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  const services: ServiceLine[] = [
    { name: 'health', where: `${url}/healthz` },
    { name: 'version', where: `${url}/version` },
  ];
  const nextSteps: string[] = [];
  try {
    for (const c of components) {
      await c.started?.(url);
      services.push(...(c.services?.(url) ?? []));
      nextSteps.push(...(c.nextSteps?.(url) ?? []));
    }
  } catch (err) {
    await app.close().catch(() => undefined);
    await closeComponents();
    throw err;
  }
  options.logger.info({ url, dataDir: options.dataDir }, 'control plane listening');

  return {
    url,
    app,
    services,
    banner() {
      const width = Math.max(...services.map((s) => s.name.length));
      const lines = services.map((s) => `  ${s.name.padEnd(width)}  ${s.where}${s.note ? `  (${s.note})` : ''}`);
      return [
        `kubetee ${VERSION} is up at ${url}`,
        `  data dir: ${options.dataDir}`,
        '',
        ...lines,
        '',
        ...(nextSteps.length ? ['Try next:', ...nextSteps.map((l) => `  ${l}`), ''] : []),
        'Press Ctrl+C to stop.',
        '',
      ].join('\n');
    },
    async close() {
      await app.close();
      await closeComponents();
    },
  };
}
