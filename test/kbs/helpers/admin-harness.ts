/**
 * The broker process for the crash test: the real server assembly
 * (createKbsServer: protocol routes, admin plugin, limits) over the real data
 * half (openKbsData), without the CLI's start-up cost (every CLI start loads
 * all components, which under tsx takes seconds; the test restarts the
 * broker a dozen times). No collateral is configured: the test only writes
 * through the admin API. Prints `listening <url>` when ready.
 * Usage: tsx admin-harness.ts <db-url> <admin-token-file>   (master key from KUBETEE_KBS_MASTER_KEY)
 */
import { QuoteVerifier } from '../../../src/attestation/index.js';
import { openKbsData } from '../../../src/kbs/secrets/open-kbs-data.js';
import { createKbsServer } from '../../../src/kbs/server.js';
import { staticCollateral } from '../../../src/kbs/protocol/collateral-source.js';

const [db, tokenFile] = process.argv.slice(2);
const data = await openKbsData({ db: db!, adminTokenFile: tokenFile!, env: process.env });
const server = await createKbsServer({ service: data.service, tokens: data.tokens, verifier: new QuoteVerifier(), collateral: staticCollateral([]) });
const url = await server.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${url}\n`);
const stop = async (): Promise<void> => {
  await server.close();
  await data.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
