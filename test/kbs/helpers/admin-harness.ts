/**
 * A small broker process for the crash test: the real data half
 * (openKbsData) and the real admin plugin on real HTTP, nothing else. Used
 * until `kbs serve` exists; prints `listening <url>` when ready.
 * Usage: tsx admin-harness.ts <db-url> <admin-token-file>   (master key from KUBETEE_KBS_MASTER_KEY)
 */
import Fastify from 'fastify';
import { openKbsData } from '../../../src/kbs/secrets/open-kbs-data.js';
import { adminRoutes } from '../../../src/kbs/admin/routes.js';

const [db, tokenFile] = process.argv.slice(2);
const data = await openKbsData({ db: db!, adminTokenFile: tokenFile!, env: process.env });
const app = Fastify();
await app.register(adminRoutes, { service: data.service, tokens: data.tokens });
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(`listening http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}\n`);
const stop = async (): Promise<void> => {
  await app.close();
  await data.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
