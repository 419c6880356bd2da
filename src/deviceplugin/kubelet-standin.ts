/**
 * A kubelet stand-in for tests and `kubetee up`: a real gRPC Registration
 * server on a real unix socket (`<dir>/kubelet.sock`) plus a client that
 * behaves like kubelet's device manager: on Register it dials the plugin's
 * socket, asks for its options, keeps ListAndWatch open and records every
 * full device list; it calls GetPreferredAllocation, Allocate and
 * PreStartContainer like kubelet does at pod admission.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { DEVICE_PLUGIN_API_VERSION, KUBELET_SOCKET_NAME, isExtendedResourceName } from './api.js';
import {
  devicePluginApi,
  type AllocateResponse,
  type ContainerPreferredAllocationRequest,
  type DevicePluginOptions,
  type ListAndWatchResponse,
  type PreferredAllocationResponse,
  type RegisterRequest,
  type WireDevice,
} from './proto.js';

export interface StandinResource {
  resourceName: string;
  endpoint: string;
  options: DevicePluginOptions;
  /** Latest full device list from ListAndWatch. */
  devices: WireDevice[];
  /** ListAndWatch messages received on the current connection. */
  updates: number;
  /** Whether the ListAndWatch stream is open. */
  connected: boolean;
  registeredAt: number;
}

export interface KubeletStandin {
  readonly dir: string;
  readonly socketPath: string;
  /** Every Register call accepted, in order. */
  readonly registrations: RegisterRequest[];
  resource(name: string): StandinResource | undefined;
  /** Resolves when `predicate` holds (checked on every event), rejects after timeoutMs. */
  waitFor(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  allocate(resourceName: string, containers: string[][]): Promise<AllocateResponse>;
  preferredAllocation(resourceName: string, requests: ContainerPreferredAllocationRequest[]): Promise<PreferredAllocationResponse>;
  preStart(resourceName: string, deviceIds: string[]): Promise<void>;
  /** Simulates a kubelet restart: stop, wipe the directory's files (sockets included), serve a new kubelet.sock. */
  restart(): Promise<void>;
  /** Stops serving kubelet.sock and removes it (kubelet down). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

interface Conn {
  client: grpc.Client;
  stream: grpc.ClientReadableStream<ListAndWatchResponse> | undefined;
}

const CHECKPOINT = 'kubelet_internal_checkpoint';

/**
 * How long `waitFor` waits before giving up. Callers wait for a condition,
 * never for a time: the bound only turns a hang into an error, so it is long
 * enough for a machine at load average 20 (a 5 s bound failed there).
 */
export const WAIT_BOUND_MS = 120_000;

export async function startKubeletStandin(options: { dir: string; callTimeoutMs?: number }): Promise<KubeletStandin> {
  const dir = options.dir;
  const socketPath = join(dir, KUBELET_SOCKET_NAME);
  // Deadline of one call to a plugin: generous, so a loaded machine is slow rather than failing.
  const callTimeoutMs = options.callTimeoutMs ?? 30_000;
  const api = devicePluginApi();
  const registrations: RegisterRequest[] = [];
  const resources = new Map<string, StandinResource>();
  const conns = new Map<string, Conn>();
  const waiters = new Set<() => void>();
  let server: grpc.Server | undefined;

  const changed = (): void => {
    for (const w of [...waiters]) w();
  };

  const disconnect = (name: string): void => {
    const c = conns.get(name);
    if (!c) return;
    conns.delete(name);
    c.stream?.cancel();
    c.client.close();
    const r = resources.get(name);
    if (r) r.connected = false;
  };

  const unary = <Req, Res>(client: grpc.Client, method: string, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, (r: Req, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: Res) => void) => void>)[method]!;
      fn.call(client, req, { deadline: Date.now() + callTimeoutMs }, (err, value) => (err ? reject(err) : resolve(value)));
    });

  const onRegister = async (req: RegisterRequest): Promise<void> => {
    if (req.version !== DEVICE_PLUGIN_API_VERSION) throw Object.assign(new Error(`unsupported version "${req.version}"`), { code: grpc.status.INVALID_ARGUMENT });
    if (!isExtendedResourceName(req.resource_name)) throw Object.assign(new Error(`invalid resource name "${req.resource_name}"`), { code: grpc.status.INVALID_ARGUMENT });
    disconnect(req.resource_name);
    // Like current kubelets: connect to the plugin synchronously inside Register, fail the call if that fails.
    const client = new api.devicePlugin.client(`unix:${join(dir, req.endpoint)}`, grpc.credentials.createInsecure());
    const conn: Conn = { client, stream: undefined };
    conns.set(req.resource_name, conn);
    let opts: DevicePluginOptions;
    try {
      opts = await unary<object, DevicePluginOptions>(client, 'GetDevicePluginOptions', {});
    } catch (err) {
      disconnect(req.resource_name);
      throw Object.assign(new Error(`cannot reach plugin at ${req.endpoint}: ${(err as Error).message}`), { code: grpc.status.UNAVAILABLE });
    }
    const entry: StandinResource = { resourceName: req.resource_name, endpoint: req.endpoint, options: opts, devices: [], updates: 0, connected: true, registeredAt: Date.now() };
    resources.set(req.resource_name, entry);
    registrations.push(req);
    const stream = (client as unknown as { ListAndWatch(r: object): grpc.ClientReadableStream<ListAndWatchResponse> }).ListAndWatch({});
    conn.stream = stream;
    stream.on('data', (msg: ListAndWatchResponse) => {
      if (conns.get(req.resource_name) !== conn) return;
      entry.devices = msg.devices;
      entry.updates++;
      changed();
    });
    const end = (): void => {
      if (conns.get(req.resource_name) === conn) entry.connected = false;
      changed();
    };
    stream.on('error', end);
    stream.on('end', end);
    changed();
  };

  const serve = async (): Promise<void> => {
    mkdirSync(dir, { recursive: true });
    rmSync(socketPath, { force: true });
    const s = new grpc.Server();
    s.addService(api.registration.service, {
      Register: (call: grpc.ServerUnaryCall<RegisterRequest, object>, cb: grpc.sendUnaryData<object>) => {
        onRegister(call.request).then(
          () => cb(null, {}),
          (err: Error & { code?: number }) => cb(Object.assign(err, { code: err.code ?? grpc.status.INTERNAL, details: err.message }) as grpc.ServiceError),
        );
      },
    });
    await new Promise<void>((resolve, reject) => s.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    server = s;
  };

  const stop = async (): Promise<void> => {
    for (const name of [...conns.keys()]) disconnect(name);
    server?.forceShutdown();
    server = undefined;
    rmSync(socketPath, { force: true });
    changed();
  };

  await serve();

  const handle: KubeletStandin = {
    dir,
    socketPath,
    registrations,
    resource: (name) => resources.get(name),
    waitFor(predicate, what, boundMs = WAIT_BOUND_MS) {
      // A shorter bound from a caller is raised: it would only make a slow machine fail.
      const timeoutMs = Math.max(boundMs, WAIT_BOUND_MS);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          let ok = false;
          try {
            ok = predicate();
          } catch {
            ok = false;
          }
          if (ok) {
            waiters.delete(check);
            clearTimeout(timer);
            clearInterval(tick);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          clearInterval(tick);
          reject(new Error(`kubelet stand-in: timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        // Registration counts change outside stream events too; re-check on a short bounded tick.
        const tick = setInterval(check, 20);
        waiters.add(check);
        check();
      });
    },
    async allocate(resourceName, containers) {
      const c = conns.get(resourceName);
      if (!c) throw new Error(`kubelet stand-in: ${resourceName} is not registered`);
      return unary<object, AllocateResponse>(c.client, 'Allocate', { container_requests: containers.map((ids) => ({ devices_ids: ids })) });
    },
    async preferredAllocation(resourceName, requests) {
      const c = conns.get(resourceName);
      if (!c) throw new Error(`kubelet stand-in: ${resourceName} is not registered`);
      return unary<object, PreferredAllocationResponse>(c.client, 'GetPreferredAllocation', { container_requests: requests });
    },
    async preStart(resourceName, deviceIds) {
      const c = conns.get(resourceName);
      if (!c) throw new Error(`kubelet stand-in: ${resourceName} is not registered`);
      await unary<object, object>(c.client, 'PreStartContainer', { devices_ids: deviceIds });
    },
    async restart() {
      await stop();
      // kubelet's registration server cleans the directory on start, keeping only its checkpoint.
      for (const name of readdirSync(dir)) {
        if (name === CHECKPOINT) continue;
        const p = join(dir, name);
        if (!statSync(p).isDirectory()) rmSync(p, { force: true });
      }
      await serve();
      changed();
    },
    stop,
    async close() {
      await stop();
      waiters.clear();
    },
  };
  return handle;
}
