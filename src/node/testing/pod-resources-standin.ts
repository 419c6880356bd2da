/**
 * A kubelet pod-resources stand-in: a real gRPC PodResourcesLister server on a
 * unix socket whose List answer the caller sets (tests, `kubetee up`).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { podResourcesApi } from '../../deviceplugin/proto.js';
import type { PodResourcesPod } from '../pod-resources.js';

export interface PodResourcesStandin {
  socketPath: string;
  setPods(pods: PodResourcesPod[]): void;
  /** Number of List calls served. */
  calls(): number;
  close(): Promise<void>;
}

export async function startPodResourcesStandin(socketPath: string): Promise<PodResourcesStandin> {
  mkdirSync(dirname(socketPath), { recursive: true });
  rmSync(socketPath, { force: true });
  let pods: PodResourcesPod[] = [];
  let calls = 0;
  const server = new grpc.Server();
  server.addService(podResourcesApi().service, {
    List: (_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) => {
      calls++;
      cb(null, { pod_resources: pods });
    },
    GetAllocatableResources: (_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) => cb(null, { devices: [], cpu_ids: [], memory: [] }),
    Get: (call: grpc.ServerUnaryCall<{ pod_name: string; pod_namespace: string }, object>, cb: grpc.sendUnaryData<object>) => {
      const p = pods.find((x) => x.name === call.request.pod_name && x.namespace === call.request.pod_namespace);
      if (!p) cb({ code: grpc.status.NOT_FOUND, details: 'pod not found' } as grpc.ServiceError);
      else cb(null, { pod_resources: p });
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return {
    socketPath,
    setPods(next) {
      pods = next;
    },
    calls: () => calls,
    async close() {
      server.forceShutdown();
      rmSync(socketPath, { force: true });
    },
  };
}
