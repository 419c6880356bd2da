import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { SelfManagedCa } from '../../src/webhook/tls/self-managed-ca.js';
import { join } from 'node:path';

/**
 * A stand-in for the two admissionregistration endpoints caBundle publishing
 * uses (GET and PUT of Mutating/ValidatingWebhookConfigurations by name), with
 * resourceVersion conflicts like the real API server. Used because no
 * kube-apiserver binary is available to unit tests; the deploy e2e suite
 * exercises the real one.
 */
export interface FakeApiServer {
  url: string;
  kubeconfigPath: string;
  objects: Map<string, Record<string, any>>;
  /** Answer the next PUT with 409 Conflict. */
  conflictOnce(): void;
  puts: number;
  close(): Promise<void>;
}

/** Serves HTTPS with its own CA, like a real API server; the kubeconfig carries that CA. */
export async function startFakeApiServer(dir: string): Promise<FakeApiServer> {
  const ca = await SelfManagedCa.open({ dir: mkdtempSync(join(dir, 'apiserver-')), hosts: ['127.0.0.1'] });
  const app = Fastify({ https: { cert: ca.material().certPem, key: ca.material().keyPem } }) as unknown as FastifyInstance;
  const objects = new Map<string, Record<string, any>>();
  let conflict = false;
  const state = { puts: 0 };
  const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
  for (const plural of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
    const base = `/apis/admissionregistration.k8s.io/v1/${plural}/:name`;
    app.get<{ Params: { name: string } }>(base, async (req, reply) => {
      const obj = objects.get(`${plural}/${req.params.name}`);
      if (!obj) return reply.code(404).send(status(404, 'NotFound', `${plural} "${req.params.name}" not found`));
      return obj;
    });
    app.put<{ Params: { name: string }; Body: Record<string, any> }>(base, async (req, reply) => {
      state.puts++;
      const key = `${plural}/${req.params.name}`;
      const current = objects.get(key);
      if (!current) return reply.code(404).send(status(404, 'NotFound', 'not found'));
      if (conflict || req.body['metadata']?.resourceVersion !== current['metadata'].resourceVersion) {
        conflict = false;
        current['metadata'].resourceVersion = String(Number(current['metadata'].resourceVersion) + 1);
        return reply.code(409).send(status(409, 'Conflict', 'the object has been modified'));
      }
      const next = { ...req.body, metadata: { ...req.body['metadata'], resourceVersion: String(Number(current['metadata'].resourceVersion) + 1) } };
      objects.set(key, next);
      return next;
    });
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    `apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: "${url}", certificate-authority-data: ${Buffer.from(ca.caBundlePem()).toString('base64')}}}]\nusers: [{name: u, user: {token: test-token}}]\ncontexts: [{name: c, context: {cluster: fake, user: u}}]\ncurrent-context: c\n`,
  );
  return {
    url,
    kubeconfigPath,
    objects,
    conflictOnce: () => {
      conflict = true;
    },
    get puts() {
      return state.puts;
    },
    close: () => app.close(),
  } as FakeApiServer;
}
