/** Prometheus metrics of the node agent (own registry, never the global one). */
import { createServer, type Server } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { NodeError } from './errors.js';
export { parseListenAddress } from './listen-address.js';
import type { NodeAgentStatus } from './agent-status.js';

export class NodeAgentMetrics {
  readonly registry = new Registry();
  private readonly capacity = new Gauge({ name: 'kubetee_sgx_epc_capacity_bytes', help: 'EPC on this node (bytes)', registers: [this.registry] });
  private readonly allocated = new Gauge({ name: 'kubetee_sgx_epc_allocated_bytes', help: 'EPC held by containers per the kubelet pod-resources API (bytes; alibaba profile)', registers: [this.registry] });
  private readonly perPod = new Gauge({ name: 'kubetee_sgx_pod_epc_bytes', help: 'EPC held by one container (bytes)', labelNames: ['namespace', 'pod', 'container'], registers: [this.registry] });
  private readonly devices = new Gauge({ name: 'kubetee_sgx_devices', help: 'devices advertised to kubelet by resource and health', labelNames: ['resource', 'health'], registers: [this.registry] });
  private readonly registered = new Gauge({ name: 'kubetee_sgx_plugin_registered', help: '1 while the device plugin is registered with kubelet', labelNames: ['resource'], registers: [this.registry] });
  private readonly registrations = new Gauge({ name: 'kubetee_sgx_plugin_registrations', help: 'registrations with kubelet since start (grows on kubelet restarts)', labelNames: ['resource'], registers: [this.registry] });
  private readonly dropped = new Gauge({ name: 'kubetee_sgx_devices_not_advertised', help: 'devices left out because the list would exceed kubelet\'s 4 MiB gRPC message limit', labelNames: ['resource'], registers: [this.registry] });
  private readonly usable = new Gauge({ name: 'kubetee_sgx_usable', help: '1 when SGX is enabled and a driver is present', registers: [this.registry] });
  private readonly aesm = new Gauge({ name: 'kubetee_sgx_aesm_up', help: '1 while the AESM socket answers (absent when AESM is not used)', registers: [this.registry] });
  private readonly cgroup = new Gauge({ name: 'kubetee_sgx_epc_cgroup_available', help: '1 when the kernel has the sgx_epc misc cgroup (EPC limits enforced)', registers: [this.registry] });

  update(s: NodeAgentStatus): void {
    this.capacity.set(s.epcBytes);
    this.usable.set(s.usable ? 1 : 0);
    this.cgroup.set(s.epcCgroup.available ? 1 : 0);
    if (s.aesmAlive === null) this.aesm.reset();
    else this.aesm.set(s.aesmAlive ? 1 : 0);
    this.devices.reset();
    this.registered.reset();
    this.registrations.reset();
    this.dropped.reset();
    for (const r of s.resources) {
      this.dropped.set({ resource: r.resourceName }, r.dropped);
      this.devices.set({ resource: r.resourceName, health: 'Healthy' }, r.healthy);
      this.devices.set({ resource: r.resourceName, health: 'Unhealthy' }, r.total - r.healthy);
      this.registered.set({ resource: r.resourceName }, r.registered ? 1 : 0);
      this.registrations.set({ resource: r.resourceName }, r.registrations);
    }
    this.perPod.reset();
    let total = 0;
    for (const a of s.allocations) {
      if (a.epcBytes === null) continue;
      total += a.epcBytes;
      this.perPod.set({ namespace: a.namespace, pod: a.pod, container: a.container }, a.epcBytes);
    }
    this.allocated.set(total);
  }
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves /metrics and /healthz. */
export async function serveMetrics(metrics: NodeAgentMetrics, address: { host: string; port: number }, healthy: () => boolean): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500).end('metrics unavailable\n');
        },
      );
    } else if (path === '/healthz') {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new NodeError('METRICS_LISTEN_FAILED', `cannot listen for metrics on ${address.host}:${address.port} (${err.code ?? err.message})`, { cause: err, hint: 'pass --metrics with a free host:port' })),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : address.port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
