// Helpers of the real-kubelet tier: waiting for conditions, exec into a
// running container through the API server and the kubelet, the agent's
// metrics, and the stand-in SGX device nodes.
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';

import { eventually as pollUntil, sleep } from '../../helpers/wait.js';

export { sleep };

/** Polls with the node tier's bounds (a real kubelet is slower than kwok). */
export function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return pollUntil(what, fn, timeoutMs, 300);
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code of the command (0 on success). */
  code: number;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/**
 * Runs a command in a running container: API server -> kubelet (its client
 * certificate) -> containerd's streaming server -> runc exec. Bounded.
 */
export async function execIn(kc: KubeConfig, namespace: string, pod: string, container: string, command: string[], timeoutMs = 30_000): Promise<ExecResult> {
  const out = collector();
  const err = collector();
  let status: V1Status | undefined;
  const ws = await new Exec(kc).exec(namespace, pod, container, command, out.stream, err.stream, null, false, (s) => {
    status = s;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`exec ${command.join(' ')} in ${namespace}/${pod} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', (e: unknown) => {
      clearTimeout(timer);
      const detail = e instanceof Error ? e.message : (e as { message?: string }).message ?? String(e);
      reject(new Error(`exec ${command.join(' ')} in ${namespace}/${pod}: ${detail}`));
    });
  });
  let code = 0;
  if (status && status.status !== 'Success') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    code = cause ? Number(cause.message) : 1;
  }
  return { stdout: out.text(), stderr: err.text(), code };
}

/** One sample of a Prometheus text exposition (labels matched exactly, in any order). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[kv[1]!] = kv[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

export interface CharDevice {
  /** The harmless host device whose numbers the stand-in takes. */
  source: string;
  major: number;
  minor: number;
}

/** Linux dev_t split (glibc's gnu_dev_major/minor). */
function splitRdev(rdev: number): { major: number; minor: number } {
  const big = BigInt(rdev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * Harmless character devices for the SGX stand-ins: opening them has no
 * effect, and unlike /dev/null they are not in the container runtime's
 * default device allow-list, so whether the devices cgroup lets a container
 * open one is observable. Returns `count` distinct ones that exist here.
 */
export function pickStandinDevices(count: number): CharDevice[] {
  const out: CharDevice[] = [];
  for (const source of ['/dev/fuse', '/dev/btrfs-control', '/dev/loop-control', '/dev/vhost-net', '/dev/uhid']) {
    try {
      const st = statSync(source);
      if (!st.isCharacterDevice()) continue;
      out.push({ source, ...splitRdev(st.rdev) });
    } catch {
      continue;
    }
    if (out.length === count) return out;
  }
  throw new Error(`need ${count} harmless character devices for the SGX stand-ins (tried /dev/fuse, /dev/btrfs-control, /dev/loop-control, /dev/vhost-net, /dev/uhid); found ${out.map((d) => d.source).join(', ') || 'none'}`);
}

/** Creates a character device node (mode as given) in place of whatever is at `path`. */
export function mknodStandin(path: string, dev: CharDevice, mode: string): void {
  rmSync(path, { force: true });
  const r = spawnSync('mknod', ['-m', mode, path, 'c', String(dev.major), String(dev.minor)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mknod ${path} failed: ${r.stderr || r.error?.message}`);
}
