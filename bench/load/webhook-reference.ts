// The reference servers of bench/webhook.ts: the floor any admission webhook on
// this stack pays. Same certificate (kubetee's self-managed CA directory), same
// TLS and keep-alive settings as `kubetee webhook serve`; each parses the
// AdmissionReview and answers allowed: true for its uid, with no rules.
//   node --import tsx bench/load/webhook-reference.ts https|fastify <ca-dir>
// Prints "reference listening on https://127.0.0.1:PORT"; stops on SIGTERM.
import { createServer } from 'node:https';
import Fastify from 'fastify';
import { SelfManagedCa } from '../../src/webhook/tls/self-managed-ca.js';

const [flavour, caDir] = process.argv.slice(2);
if ((flavour !== 'https' && flavour !== 'fastify') || !caDir) {
  console.error('usage: webhook-reference.ts https|fastify CA_DIR');
  process.exit(2);
}
const m = (await SelfManagedCa.open({ dir: caDir, hosts: ['127.0.0.1'] })).material();
const tls = { cert: m.certPem, key: m.keyPem, minVersion: 'TLSv1.2' as const };
const answer = (body: unknown): string => {
  const uid = (body as { request?: { uid?: unknown } }).request?.uid;
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } });
};

let close: () => Promise<void>;
let port: number;
if (flavour === 'https') {
  const server = createServer({ ...tls, keepAliveTimeout: 65_000, requestTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let out: string;
      try {
        out = answer(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  close = () => new Promise((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
} else {
  const app = Fastify({ https: tls, keepAliveTimeout: 65_000, requestTimeout: 30_000 });
  app.post('/*', { bodyLimit: 4 * 1024 * 1024 }, async (request, reply) => reply.code(200).header('content-type', 'application/json; charset=utf-8').send(answer(request.body)));
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
  close = () => app.close();
}
process.stdout.write(`reference listening on https://127.0.0.1:${port}\n`);
process.once('SIGTERM', () => void close().then(() => process.exit(0)));
