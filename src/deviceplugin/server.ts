/**
 * One device-plugin gRPC server for one resource, on its own unix socket, and
 * its registration with kubelet. Lifecycle (kubelet devicemanager contract):
 *
 * 1. Serve first: refuse if another live server holds our socket, remove a
 *    stale file, listen.
 * 2. Register with kubelet.sock (version, socket name, resource, options).
 * 3. Watch the directory (fs.watch for speed, a bounded poll as a fallback for
 *    missed events and a wiped-and-recreated directory). When our socket
 *    disappears or kubelet.sock is replaced (kubelet restart), listen again and
 *    re-register. While kubelet.sock is absent or Register fails, retry with
 *    exponential backoff; a new kubelet.sock resets the backoff.
 */
import { mkdirSync, renameSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/log.js';
import { silentLogger } from '../common/log.js';
import {
  DEVICE_PLUGIN_API_VERSION,
  KUBELET_SOCKET_NAME,
  MAX_DEVICE_ID_LENGTH,
  USE_DEFAULT_ALLOCATE,
  defaultAllocate,
  defaultSocketName,
  isExtendedResourceName,
  type DeviceInfo,
  type DevicePart,
} from './api.js';
import { DevicePluginError } from './errors.js';
import {
  devicePluginApi,
  type AllocateRequest,
  type AllocateResponse,
  type DevicePluginOptions,
  type ListAndWatchResponse,
  type PreferredAllocationRequest,
  type PreferredAllocationResponse,
  type PreStartContainerRequest,
  type RegisterRequest,
} from './proto.js';
import { isSocketLive } from './socket-probe.js';
import { KUBELET_MAX_MESSAGE_BYTES, encodeListAndWatch, toWire } from './list-size.js';

export { KUBELET_MAX_MESSAGE_BYTES } from './list-size.js';

export interface DevicePluginServerOptions {
  /** kubelet's device-plugins directory (holds kubelet.sock and our socket). */
  pluginDir: string;
  logger?: Logger;
  /** Fallback poll of the directory; fs.watch normally reacts first. Default 500 ms. */
  pollIntervalMs?: number;
  /** Register retry backoff while kubelet is absent or failing. Defaults 100 ms doubling to 5 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Deadline of one Register call. Default 5 s. */
  registerTimeoutMs?: number;
  /**
   * Largest ListAndWatch message to send. kubelet's gRPC client receives at
   * most 4 MiB (kubernetes/kubernetes#109304) and drops the whole stream
   * above it, which reads as "every device gone". Default 4 MiB.
   */
  maxMessageBytes?: number;
}

export interface DevicePluginStatus {
  resourceName: string;
  socketPath: string;
  serving: boolean;
  registered: boolean;
  /** Completed registrations since start (re-registrations after kubelet restarts included). */
  registrations: number;
  lastRegisteredAt: Date | null;
  lastError: string | null;
  /** Advertised devices (after any truncation). */
  devices: DeviceInfo[];
  /** Devices the part reported that were not advertised because the list would exceed maxMessageBytes. */
  droppedDevices: number;
}

/** Makes temporary bind names unique within the process. */
let bindCounter = 0;

interface Inode {
  dev: number;
  ino: number;
}

function inodeOf(path: string): Inode | undefined {
  try {
    const s = statSync(path);
    return { dev: s.dev, ino: s.ino };
  } catch {
    return undefined;
  }
}

function sameInode(a: Inode | undefined, b: Inode | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() }) as grpc.ServiceError;
}

export class DevicePluginServer {
  readonly resourceName: string;
  readonly socketPath: string;
  private readonly part: DevicePart;
  private readonly dir: string;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly registerTimeoutMs: number;

  private devices = new Map<string, DeviceInfo>();
  private droppedDevices = 0;
  private readonly maxMessageBytes: number;
  private streams = new Set<grpc.ServerWritableStream<unknown, ListAndWatchResponse>>();
  private server: grpc.Server | undefined;
  private ourInode: Inode | undefined;
  private kubeletInode: Inode | undefined;
  private registered = false;
  private registrations = 0;
  private lastRegisteredAt: Date | null = null;
  private lastError: string | null = null;
  private backoffMs: number;
  private nextAttemptAt = 0;
  private lastSeenKubelet: Inode | undefined;
  private watcher: FSWatcher | undefined;
  private watchedDir: Inode | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;
  private checking: Promise<void> | undefined;
  private checkAgain = false;
  private closed = false;
  private readonly listeners = new Set<(s: DevicePluginStatus) => void>();

  constructor(part: DevicePart, options: DevicePluginServerOptions) {
    if (!isExtendedResourceName(part.resourceName)) {
      throw new DevicePluginError('DP_RESOURCE_NAME_INVALID', `"${part.resourceName}" is not an extended resource name kubelet accepts`, {
        hint: 'use <domain>/<name> outside kubernetes.io, e.g. example.com/widget',
      });
    }
    this.part = part;
    this.resourceName = part.resourceName;
    this.dir = options.pluginDir;
    this.socketPath = join(this.dir, part.socketName ?? defaultSocketName(part.resourceName));
    this.log = (options.logger ?? silentLogger()).child({ resource: part.resourceName });
    this.pollMs = options.pollIntervalMs ?? 500;
    this.backoffInitialMs = options.backoffInitialMs ?? 100;
    this.backoffMaxMs = options.backoffMaxMs ?? 5000;
    this.registerTimeoutMs = options.registerTimeoutMs ?? 5000;
    this.maxMessageBytes = options.maxMessageBytes ?? KUBELET_MAX_MESSAGE_BYTES;
    this.backoffMs = this.backoffInitialMs;
  }

  /** Serves, then registers (retrying in the background); resolves once serving. */
  async start(): Promise<void> {
    if (this.closed) throw new DevicePluginError('DP_CLOSED', `device plugin ${this.resourceName} was closed`);
    this.stopWatch = this.part.watch((list) => this.setDevices(list));
    try {
      await this.serve();
    } catch (err) {
      this.stopWatch?.();
      throw err;
    }
    this.ensureWatcher();
    this.pollTimer = setInterval(() => this.requestCheck(), this.pollMs);
    this.pollTimer.unref();
    this.requestCheck();
  }

  status(): DevicePluginStatus {
    return {
      resourceName: this.resourceName,
      socketPath: this.socketPath,
      serving: this.server !== undefined,
      registered: this.registered,
      registrations: this.registrations,
      lastRegisteredAt: this.lastRegisteredAt,
      lastError: this.lastError,
      devices: [...this.devices.values()],
      droppedDevices: this.droppedDevices,
    };
  }

  /** Called after every registration and device change (for metrics and tests). */
  onStatus(listener: (s: DevicePluginStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private stopSupervising(): void {
    this.closed = true;
    this.stopWatch?.();
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.watcher?.close();
  }

  async close(): Promise<void> {
    if (this.closed && this.server === undefined) return;
    this.stopSupervising();
    await this.checking?.catch(() => undefined);
    await this.stopServing();
    // Only remove the socket file if it is still ours (a successor may have replaced it).
    if (sameInode(inodeOf(this.socketPath), this.ourInode)) rmSync(this.socketPath, { force: true });
  }

  private emit(): void {
    const s = this.status();
    for (const l of this.listeners) l(s);
  }

  private setDevices(list: DeviceInfo[]): void {
    const next = new Map<string, DeviceInfo>();
    for (const d of list) {
      // kubelet rejects the whole update on a bad ID; drop the bad one instead and say so.
      if (d.id.length === 0 || d.id.length > MAX_DEVICE_ID_LENGTH || next.has(d.id)) {
        this.log.error({ id: d.id }, 'device ID empty, longer than 63 characters or duplicated; not advertised');
        continue;
      }
      next.set(d.id, d);
    }
    const { list: advertised, dropped } = this.fitMessage([...next.values()]);
    if (dropped > 0 && dropped !== this.droppedDevices) {
      this.log.error({ reported: next.size, advertised: advertised.length, maxMessageBytes: this.maxMessageBytes }, 'device list exceeds kubelet\'s gRPC message limit; advertising only the devices that fit');
    }
    this.droppedDevices = dropped;
    this.devices = new Map(advertised.map((d) => [d.id, d]));
    const msg: ListAndWatchResponse = { devices: advertised.map(toWire) };
    for (const s of this.streams) s.write(msg);
    this.emit();
  }

  /**
   * Largest prefix of `list` whose ListAndWatch message fits maxMessageBytes.
   * Exact: the message holds only the repeated `devices` field, so its size is
   * the sum of each device's encoded field, measured with the real serializer.
   */
  private fitMessage(list: DeviceInfo[]): { list: DeviceInfo[]; dropped: number } {
    if (encodeListAndWatch({ devices: list.map(toWire) }).length <= this.maxMessageBytes) return { list, dropped: 0 };
    // Chunks keep this one pass over the list; only the chunk that crosses the limit is measured per device.
    const CHUNK = 1024;
    let total = 0;
    let fit = 0;
    while (fit < list.length) {
      const chunk = list.slice(fit, fit + CHUNK);
      const size = encodeListAndWatch({ devices: chunk.map(toWire) }).length;
      if (total + size <= this.maxMessageBytes) {
        total += size;
        fit += chunk.length;
        continue;
      }
      for (const d of chunk) {
        const one = encodeListAndWatch({ devices: [toWire(d)] }).length;
        if (total + one > this.maxMessageBytes) break;
        total += one;
        fit++;
      }
      break;
    }
    return { list: list.slice(0, fit), dropped: list.length - fit };
  }

  private options(): DevicePluginOptions {
    return {
      pre_start_required: typeof this.part.preStart === 'function',
      get_preferred_allocation_available: typeof this.part.preferredAllocation === 'function',
    };
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      GetDevicePluginOptions: (_call: grpc.ServerUnaryCall<unknown, DevicePluginOptions>, cb: grpc.sendUnaryData<DevicePluginOptions>) => cb(null, this.options()),
      ListAndWatch: (call: grpc.ServerWritableStream<unknown, ListAndWatchResponse>) => {
        this.streams.add(call);
        const drop = (): void => {
          this.streams.delete(call);
        };
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('error', drop);
        call.write({ devices: [...this.devices.values()].map(toWire) });
      },
      Allocate: (call: grpc.ServerUnaryCall<AllocateRequest, AllocateResponse>, cb: grpc.sendUnaryData<AllocateResponse>) => {
        try {
          cb(null, this.allocate(call.request));
        } catch (err) {
          cb(err as grpc.ServiceError);
        }
      },
      GetPreferredAllocation: (call: grpc.ServerUnaryCall<PreferredAllocationRequest, PreferredAllocationResponse>, cb: grpc.sendUnaryData<PreferredAllocationResponse>) => {
        const prefer = this.part.preferredAllocation;
        if (!prefer) return cb(grpcError(grpc.status.UNIMPLEMENTED, `${this.resourceName} does not implement GetPreferredAllocation`));
        try {
          const responses = call.request.container_requests.map((r) => {
            const picked = prefer.call(this.part, { available: r.available_deviceIDs, mustInclude: r.must_include_deviceIDs, size: r.allocation_size }, this.devices);
            return { deviceIDs: picked };
          });
          cb(null, { container_responses: responses });
        } catch (err) {
          cb(grpcError(grpc.status.INTERNAL, `preferred allocation for ${this.resourceName} failed: ${(err as Error).message}`));
        }
      },
      PreStartContainer: (call: grpc.ServerUnaryCall<PreStartContainerRequest, object>, cb: grpc.sendUnaryData<object>) => {
        const pre = this.part.preStart;
        if (!pre) return cb(grpcError(grpc.status.UNIMPLEMENTED, `${this.resourceName} does not require PreStartContainer`));
        pre.call(this.part, call.request.devices_ids).then(
          () => cb(null, {}),
          (err: unknown) => cb(grpcError(grpc.status.INTERNAL, `PreStartContainer for ${this.resourceName} failed: ${(err as Error).message}`)),
        );
      },
    };
  }

  /** Validates every requested ID (known, healthy) before any part code runs: fail closed. */
  private allocate(req: AllocateRequest): AllocateResponse {
    const responses = req.container_requests.map((c, index) => {
      if (c.devices_ids.length === 0) throw grpcError(grpc.status.INVALID_ARGUMENT, `container request ${index} for ${this.resourceName} lists no device IDs`);
      for (const id of c.devices_ids) {
        const d = this.devices.get(id);
        if (!d) throw grpcError(grpc.status.INVALID_ARGUMENT, `unknown device ID "${id.slice(0, 80)}" for resource ${this.resourceName} (container request ${index})`);
        if (!d.healthy) throw grpcError(grpc.status.FAILED_PRECONDITION, `device "${id}" of resource ${this.resourceName} is Unhealthy; refusing to allocate it`);
      }
      let out;
      try {
        out = this.part.allocate?.(c.devices_ids, this.devices) ?? USE_DEFAULT_ALLOCATE;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        throw grpcError(grpc.status.FAILED_PRECONDITION, `allocate for ${this.resourceName} failed${typeof code === 'string' ? ` [${code}]` : ''}: ${(err as Error).message}`);
      }
      return out === USE_DEFAULT_ALLOCATE ? defaultAllocate(c.devices_ids, this.devices) : out;
    });
    // Debug only: kubelet logs every allocation itself and pod-resources is the record; a
    // synchronous log line per call was a quarter of Allocate's CPU (docs/node-agent.md, benchmark).
    this.log.debug({ containers: responses.length, ids: req.container_requests.map((c) => c.devices_ids.length) }, 'allocated');
    return { container_responses: responses };
  }

  private async serve(): Promise<void> {
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw new DevicePluginError('DP_LISTEN_FAILED', `cannot create the device-plugin directory ${this.dir}: ${(err as Error).message}`, {
        cause: err,
        hint: 'mount kubelet\'s device-plugins directory (hostPath /var/lib/kubelet/device-plugins) writable',
      });
    }
    if (inodeOf(this.socketPath) !== undefined) {
      if (await isSocketLive(this.socketPath)) {
        throw new DevicePluginError('DP_SOCKET_IN_USE', `another server is already listening on ${this.socketPath}`, {
          hint: 'stop the other device plugin for this resource first; two servers must never share one socket',
        });
      }
      rmSync(this.socketPath, { force: true });
    }
    // Not 'grpc.enable_channelz': 0 — with it, grpc-js 1.14 keeps a handle open after forceShutdown
    // and `kubetee node-agent` never exits on SIGTERM (test/node/agent.test.ts, CLI test).
    const server = new grpc.Server();
    server.addService(devicePluginApi().devicePlugin.service, this.handlers());
    // Bind under a temporary name and rename into place: libuv unlinks a unix
    // socket *by name* when the server closes, which would delete a successor's
    // socket at our path. The temporary name is what it unlinks instead.
    const tmpPath = join(this.dir, `.kt-${process.pid}-${++bindCounter}.sock`);
    rmSync(tmpPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix:${tmpPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
        if (err) {
          server.forceShutdown();
          reject(
            new DevicePluginError('DP_LISTEN_FAILED', `cannot listen on ${this.socketPath}: ${err.message}`, {
              cause: err,
              hint: 'check that the directory is writable and the path is shorter than 108 bytes',
            }),
          );
        } else resolve();
      });
    });
    try {
      renameSync(tmpPath, this.socketPath);
    } catch (err) {
      server.forceShutdown();
      rmSync(tmpPath, { force: true });
      throw new DevicePluginError('DP_LISTEN_FAILED', `cannot move the plugin socket into place at ${this.socketPath}: ${(err as Error).message}`, { cause: err });
    }
    this.server = server;
    this.ourInode = inodeOf(this.socketPath);
    this.log.info({ socket: this.socketPath }, 'serving');
  }

  private async stopServing(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.streams) s.end();
    this.streams.clear();
    if (server) server.forceShutdown();
  }

  private ensureWatcher(): void {
    const dirInode = inodeOf(this.dir);
    if (this.watcher && sameInode(dirInode, this.watchedDir)) return;
    this.watcher?.close();
    this.watcher = undefined;
    if (!dirInode) return;
    try {
      const w = watch(this.dir, { persistent: false }, () => this.requestCheck());
      w.on('error', () => {
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
      this.watchedDir = dirInode;
    } catch {
      // The bounded poll still covers us.
    }
  }

  private requestCheck(): void {
    if (this.closed) return;
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = this.check()
      .catch((err: unknown) => {
        this.lastError = (err as Error).message;
        this.log.error({ err: (err as Error).message }, 'device plugin supervision step failed');
      })
      .finally(() => {
        this.checking = undefined;
        if (this.checkAgain && !this.closed) {
          this.checkAgain = false;
          this.requestCheck();
        }
      });
  }

  private async check(): Promise<void> {
    this.ensureWatcher();
    // Our socket deleted or replaced (kubelet wiped the directory): listen again, then re-register.
    if (!sameInode(inodeOf(this.socketPath), this.ourInode)) {
      this.log.warn('plugin socket removed; serving again and re-registering');
      this.registered = false;
      await this.stopServing();
      try {
        await this.serve();
      } catch (err) {
        if ((err as { code?: string }).code === 'DP_SOCKET_IN_USE') {
          // A successor (e.g. the next agent pod in a rolling update) owns the socket now: step aside for good.
          this.lastError = (err as Error).message;
          this.log.error({ err: this.lastError }, 'another plugin serves this resource now; this server stops');
          this.stopSupervising();
          this.emit();
          return;
        }
        throw err;
      }
      this.ensureWatcher();
    }
    const kubelet = inodeOf(join(this.dir, KUBELET_SOCKET_NAME));
    if (!kubelet) {
      if (this.registered) this.log.warn('kubelet.sock disappeared; waiting for kubelet');
      this.registered = false;
      this.lastSeenKubelet = undefined;
      return;
    }
    if (!sameInode(kubelet, this.lastSeenKubelet)) {
      // A new kubelet socket: try at once, with a fresh backoff.
      this.lastSeenKubelet = kubelet;
      this.backoffMs = this.backoffInitialMs;
      this.nextAttemptAt = 0;
    }
    if (this.registered && sameInode(kubelet, this.kubeletInode)) return;
    this.registered = false;
    const now = Date.now();
    if (now < this.nextAttemptAt) return;
    try {
      await this.register();
      this.registered = true;
      this.kubeletInode = kubelet;
      this.registrations++;
      this.lastRegisteredAt = new Date();
      this.lastError = null;
      this.backoffMs = this.backoffInitialMs;
      this.log.info({ registrations: this.registrations }, 'registered with kubelet');
      this.emit();
    } catch (err) {
      this.lastError = (err as Error).message;
      this.nextAttemptAt = Date.now() + this.backoffMs;
      this.log.warn({ err: this.lastError, retryInMs: this.backoffMs }, 'kubelet registration failed; backing off');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.requestCheck(), this.backoffMs);
      this.retryTimer.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, this.backoffMaxMs);
    }
  }

  private register(): Promise<void> {
    const { registration } = devicePluginApi();
    const client = new registration.client(`unix:${join(this.dir, KUBELET_SOCKET_NAME)}`, grpc.credentials.createInsecure());
    const req: RegisterRequest = {
      version: DEVICE_PLUGIN_API_VERSION,
      endpoint: this.socketPath.slice(this.dir.length).replace(/^\/+/, ''),
      resource_name: this.resourceName,
      options: this.options(),
    };
    return new Promise<void>((resolve, reject) => {
      const fn = client['Register'] as (r: RegisterRequest, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void;
      fn.call(client, req, { deadline: Date.now() + this.registerTimeoutMs }, (err) => {
        client.close();
        if (err) reject(new Error(`Register with kubelet failed: ${err.details || err.message}`));
        else resolve();
      });
    });
  }
}
