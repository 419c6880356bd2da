import { InvalidArgumentError, type Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { KubeteeError, UsageError } from '../common/errors.js';
import { parseInstant, parsePositiveInt } from './options.js';
import { kbsCommand, readTokenFile } from '../kbs/admin/cli.js';
import type { SimulatedPlatform } from '../sim/index.js';
import type { CollateralProvider } from '../kbs/protocol/collateral-source.js';
import type { EvidenceProvider, KbsClient } from '../kbs/client/index.js';
import { waitForShutdownSignal } from '../common/signals.js';
import { TCB_STATUSES } from '../attestation/types.js';

// Libraries load when a command runs, so `kubetee <anything>` does not pay for the broker's dependencies.
const attestation = () => import('../attestation/index.js');
const sim = () => import('../sim/index.js');
const policyEngine = () => import('../kbs/policy/engine.js');
const collateralSources = () => import('../kbs/protocol/collateral-source.js');
const clientLib = () => import('../kbs/client/index.js');
const sealLib = () => import('../kbs/seal/index.js');
const adminClient = () => import('../kbs/admin/client.js');

/** Same list as the policy engine's (kept here so parsing flags loads no CEL). */
const DEFAULT_ACCEPTED_STATUSES = ['UpToDate', 'SWHardeningNeeded'];

/*
 * The attestation half of the key broker's CLI: `kbs serve`, `kbs policy`,
 * `kbs get-resource`, `seal` and `unseal`. Thin: parse flags, call the
 * libraries in src/kbs, print. The `kbs` group is shared with the store half
 * (src/kbs/admin/cli.ts): `kbsCommand` finds or creates it.
 */

const KBS_URL_ENV = 'KUBETEE_KBS_URL';
const TOKEN_FILE_ENV = 'KUBETEE_KBS_TOKEN_FILE';

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  if (!m) throw new InvalidArgumentError(`"${value}" is not HOST:PORT (for example 127.0.0.1:8080)`);
  const port = Number(m[3]);
  if (port > 65535) throw new InvalidArgumentError(`port ${port} is out of range`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

function parseStatuses(value: string, previous: string[] | undefined): string[] {
  const out = [...(previous ?? [])];
  for (const s of value.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (!(TCB_STATUSES as readonly string[]).includes(s)) throw new InvalidArgumentError(`"${s}" is not a TCB status (${TCB_STATUSES.join(', ')})`);
    out.push(s);
  }
  return out;
}

function parseHex32(value: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new InvalidArgumentError(`"${value}" is not 32 bytes of hex (64 hex digits)`);
  return value.toLowerCase();
}

function parseU16(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError(`"${value}" is not an integer 0-65535`);
  return Number(value);
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'check the path' });
  }
}

/** A simulated platform's root CA from its saved state (JSON) or a PEM/DER certificate. */
async function loadSimRoot(file: string): Promise<{ rootDer: Uint8Array; platform?: SimulatedPlatform }> {
  if (!existsSync(file)) {
    // Development convenience: create the platform here; clients use the same file with --sim-state.
    const platform = await (await sim()).SimulatedPlatform.create();
    writeFileSync(file, JSON.stringify(platform.toJSON()), { mode: 0o600 });
    process.stderr.write(`kubetee: created a simulated SGX platform in ${file}; clients quote with --evidence sim --sim-state ${file}\n`);
    return { rootDer: platform.rootCaDer, platform };
  }
  const bytes = (() => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError('FILE_UNREADABLE', `cannot read --trust-sim-root ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  })();
  const text = bytes.toString('utf8').trim();
  if (text.startsWith('{')) {
    const platform = (await sim()).SimulatedPlatform.fromJSON(JSON.parse(text));
    return { rootDer: platform.rootCaDer, platform };
  }
  try {
    return { rootDer: new Uint8Array(new X509Certificate(bytes).raw) };
  } catch (err) {
    throw new UsageError('CONFIG_INVALID', `--trust-sim-root ${file} is neither a simulated platform state (JSON) nor a certificate`, { cause: err, hint: 'pass the state file written by `kubetee kbs get-resource --evidence sim --sim-state FILE` or the root CA PEM' });
  }
}

interface ServeOptions {
  db?: string;
  dataDir: string;
  listen: { host: string; port: number };
  tlsCert?: string;
  tlsKey?: string;
  pccs?: string;
  collateral?: string[];
  trustSimRoot?: string;
  masterKeyFile?: string;
  adminTokenFile?: string;
  bootstrapTokenFile?: string;
  acceptStatus?: string[];
  statusMode: 'kubetee' | 'trustee';
  rateLimit: number;
  identityTrustDomain?: string;
  identityCaDir?: string;
  identityTtl: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

function registerServe(kbs: Command): void {
  kbs
    .command('serve')
    .description('run the key broker (Trustee KBS protocol, admin API, /metrics)')
    .option('--db <url>', 'sqlite:PATH or postgres://... (default sqlite:<data-dir>/kbs.db)')
    .option('--data-dir <dir>', 'where the SQLite database and the first admin token live', './.kubetee/kbs')
    .option('--listen <host:port>', 'address to listen on', parseListen, { host: '127.0.0.1', port: 8080 })
    .option('--tls-cert <file>', 'PEM certificate (serve HTTPS; needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--pccs <url>', 'fetch Intel collateral from this PCCS/PCS v4')
    .option('--collateral <file|dir>', 'QuoteCollateralV3 JSON file or directory (offline operation; repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--trust-sim-root <file>', 'DEVELOPMENT ONLY: trust a simulated platform root (state JSON, created if missing, or PEM)')
    .option('--master-key-file <file>', 'master keyring file (default $KUBETEE_KBS_MASTER_KEY)')
    .option('--admin-token-file <file>', 'where the first start writes the admin token (default <data-dir>/admin.token)')
    .option('--bootstrap-token-file <file>', 'first start: the first admin token is the one in this file (kbt_… format; nothing is written to disk); ignored once tokens exist')
    .option('--accept-status <list>', `TCB statuses the default policy accepts (repeatable or comma-separated; default ${DEFAULT_ACCEPTED_STATUSES.join(',')})`, parseStatuses)
    .option('--status-mode <mode>', 'kubetee (401/403/404) or trustee (401 for denials, like Trustee)', (v: string) => {
      if (v !== 'kubetee' && v !== 'trustee') throw new InvalidArgumentError('expected kubetee or trustee');
      return v;
    }, 'kubetee')
    .option('--rate-limit <n>', 'requests per second per client on /auth and /attest (burst 2n)', parsePositiveInt, 20)
    .option('--identity-trust-domain <td>', 'issue attested workload certificates (X.509-SVIDs) in this SPIFFE trust domain')
    .option('--identity-ca-dir <dir>', 'workload CA (ca.crt, ca.key; created when missing; share it between replicas)', undefined)
    .option('--identity-ttl <seconds>', 'workload certificate lifetime', parsePositiveInt, 3600)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .action(async (opts: ServeOptions) => {
      if (opts.bootstrapTokenFile !== undefined && opts.adminTokenFile !== undefined) {
        throw new UsageError('USAGE', '--bootstrap-token-file and --admin-token-file do not go together', { hint: 'with --bootstrap-token-file the first admin token is the one in that file and nothing is written; drop --admin-token-file' });
      }
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new UsageError('USAGE', '--tls-cert and --tls-key go together', { hint: 'pass both, or neither for plain HTTP' });
      const tls = opts.tlsCert && opts.tlsKey ? { cert: readText(opts.tlsCert, 'the TLS certificate'), key: readText(opts.tlsKey, 'the TLS key') } : undefined;
      const simRoot = opts.trustSimRoot ? await loadSimRoot(opts.trustSimRoot) : undefined;
      const { combinedCollateral, loadCollateralPath, pccsCollateral, staticCollateral } = await collateralSources();
      const { createLogger } = await import('../common/log.js');
      const { openKbsData } = await import('../kbs/secrets/open-kbs-data.js');
      const { createKbsServer } = await import('../kbs/server.js');
      const { QuoteVerifier } = await attestation();
      const providers: CollateralProvider[] = [];
      for (const c of opts.collateral ?? []) providers.push(staticCollateral(loadCollateralPath(c)));
      if (opts.pccs) providers.push(pccsCollateral({ url: opts.pccs, now: () => Date.now() }));
      if (providers.length === 0 && simRoot?.platform) {
        const platform = simRoot.platform;
        providers.push(staticCollateral(() => [platform.collateral()]));
      }
      if (providers.length === 0) throw new UsageError('USAGE', 'no source of Intel collateral', { hint: 'pass --pccs URL and/or --collateral FILE|DIR (or --trust-sim-root STATE.json for development)' });
      const dataDir = resolve(opts.dataDir);
      const logger = createLogger({ level: opts.logLevel, name: 'kubetee-kbs' });
      const identity = opts.identityTrustDomain
        ? { ca: await (await import('../kbs/identity/ca.js')).loadOrCreateWorkloadCa(resolve(opts.identityCaDir ?? join(dataDir, 'identity')), opts.identityTrustDomain), ttlSeconds: opts.identityTtl }
        : undefined;
      const data = await openKbsData({
        db: opts.db ?? `sqlite:${join(dataDir, 'kbs.db')}`,
        masterKeyFile: opts.masterKeyFile,
        env: process.env,
        adminTokenFile: resolve(opts.adminTokenFile ?? join(dataDir, 'admin.token')),
        bootstrapTokenFile: opts.bootstrapTokenFile !== undefined ? resolve(opts.bootstrapTokenFile) : undefined,
      });
      const server = await createKbsServer({
        service: data.service,
        tokens: data.tokens,
        ...(identity ? { identity } : {}),
        verifier: new QuoteVerifier(simRoot ? { trustedRootCaDer: [simRoot.rootDer] } : {}),
        collateral: combinedCollateral(providers),
        logger,
        acceptedStatuses: opts.acceptStatus ?? DEFAULT_ACCEPTED_STATUSES,
        statusMode: opts.statusMode,
        rateLimit: { ratePerSecond: opts.rateLimit, burst: opts.rateLimit * 2 },
        ...(tls ? { tls } : {}),
        trustsSimulatedRoot: simRoot !== undefined,
      }).catch(async (err: unknown) => {
        await data.close();
        throw err;
      });
      let url: string;
      try {
        url = await server.listen(opts.listen);
      } catch (err) {
        await data.close();
        throw err;
      }
      if (simRoot) process.stderr.write('kubetee: WARNING: --trust-sim-root is for development only: quotes from the simulated platform are accepted as genuine.\n');
      const lines = [`kubetee key broker listening on ${url}`, `  store: ${data.store.location}`];
      if (data.bootstrap.created && data.bootstrap.source === 'file') lines.push(`  first admin token created from ${data.bootstrap.file}`);
      else if (data.bootstrap.created) lines.push(`  first admin token written to ${data.bootstrap.file} (readable only by you)`);
      if (data.rowMacUpgrade) lines.push(`  database upgraded: ${data.rowMacUpgrade.policies} policies and ${data.rowMacUpgrade.tokens} admin tokens now authenticated under the master key (recorded in the audit trail)`);
      if (identity) lines.push(`  workload certificates: spiffe://${identity.ca.trustDomain} (bundle: ${url}/kbs/v0/identity/bundle)`);
      lines.push(`  protocol: ${url}/kbs/v0/{auth,attest,resource}`, `  admin: ${url}/admin/v1`, `  metrics: ${url}/metrics`, '', 'Press Ctrl+C to stop.', '');
      process.stdout.write(lines.join('\n'));
      await waitForShutdownSignal();
      await server.close();
      await data.close();
      process.stdout.write('kubetee: key broker stopped\n');
    });
}

interface ConnOptions {
  kbs?: string;
  tokenFile?: string;
}

function adminConnection(opts: ConnOptions): { url: string; token: string } {
  const url = opts.kbs ?? process.env[KBS_URL_ENV];
  const file = opts.tokenFile ?? process.env[TOKEN_FILE_ENV];
  if (!url) throw new UsageError('USAGE', 'no key broker URL given', { hint: `pass --kbs http://HOST:PORT or set ${KBS_URL_ENV}` });
  if (!file) throw new UsageError('USAGE', 'no admin token file given', { hint: `pass --token-file FILE or set ${TOKEN_FILE_ENV}` });
  return { url, token: readTokenFile(file) };
}

function registerPolicy(kbs: Command): void {
  const policy = kbs.command('policy').description('key-release policies (CEL over verified attestation claims)');
  policy
    .command('set <path>')
    .description('store the policy for a resource (repo/type/tag) or for "default"')
    .requiredOption('--file <file>', 'policy document (YAML or JSON)')
    .option('--kbs <url>', `key broker URL (default $${KBS_URL_ENV})`)
    .option('--token-file <file>', `admin token file (default $${TOKEN_FILE_ENV})`)
    .action(async (path: string, opts: ConnOptions & { file: string }) => {
      const document = readText(opts.file, 'the policy');
      // Refuse a bad document here, with the line that is wrong, before it reaches the broker.
      const compiled = (await policyEngine()).compilePolicy(document, opts.file);
      const conn = adminConnection(opts);
      const { AdminClient } = await adminClient();
      await new AdminClient({ baseUrl: conn.url, token: conn.token }).setPolicy(path, document);
      process.stdout.write(`policy for ${path} stored (${compiled.rules.length} rules including the baseline)\n`);
    });
  policy
    .command('get <path>')
    .description('print the stored policy for a resource or "default"')
    .option('--kbs <url>', `key broker URL (default $${KBS_URL_ENV})`)
    .option('--token-file <file>', `admin token file (default $${TOKEN_FILE_ENV})`)
    .action(async (path: string, opts: ConnOptions) => {
      const conn = adminConnection(opts);
      const { AdminClient } = await adminClient();
      const record = await new AdminClient({ baseUrl: conn.url, token: conn.token }).getPolicy(path);
      process.stdout.write(record.document.endsWith('\n') ? record.document : `${record.document}\n`);
    });
  policy
    .command('test')
    .description('evaluate a policy against a saved attestation result (claims JSON); exits 1 when denied')
    .requiredOption('--policy <file>', 'policy document (YAML or JSON)')
    .requiredOption('--claims <file>', 'saved attestation result (e.g. from `kbs get-resource --save-claims`)')
    .option('--resource <path>', 'resource path the decision is for', 'default/key/test')
    .option('--at <instant>', 'decision time (default now)', parseInstant)
    .option('--accept-status <list>', 'accepted TCB statuses when the policy names none', parseStatuses)
    .action(async (opts: { policy: string; claims: string; resource: string; at?: Date; acceptStatus?: string[] }) => {
      const { compilePolicy } = await policyEngine();
      const { parseClaims } = await import('../kbs/policy/claims.js');
      const compiled = compilePolicy(readText(opts.policy, 'the policy'), opts.policy, opts.acceptStatus ?? DEFAULT_ACCEPTED_STATUSES);
      let raw: unknown;
      try {
        raw = JSON.parse(readText(opts.claims, 'the claims'));
      } catch (err) {
        if (err instanceof KubeteeError) throw err;
        throw new UsageError('CONFIG_INVALID', `${opts.claims} is not JSON: ${(err as Error).message}`);
      }
      const claims = parseClaims(raw, opts.claims);
      const decision = compiled.evaluate(claims, { now: opts.at ?? new Date(), resource: opts.resource });
      if (decision.allowed) {
        process.stdout.write(`ALLOW: all ${decision.rulesEvaluated} rules hold for ${opts.resource}\n`);
        return;
      }
      process.stdout.write(`DENY: rule "${decision.rule}" failed\n  expression: ${decision.expression}\n  reason: ${decision.reason}\n`);
      throw new KubeteeError('POLICY_DENIED', `the policy denies release of ${opts.resource} for these claims`, { hint: 'adjust the policy or the TEE; the failing rule is printed above' });
    });
}

interface EvidenceOptions {
  evidence: 'sim' | 'gramine';
  simState?: string;
  mrenclave?: string;
  mrsigner?: string;
  isvProdId?: number;
  isvSvn?: number;
  debug?: boolean;
  gramineRoot: string;
}

function withEvidence(cmd: Command): Command {
  return cmd
    .requiredOption('--evidence <provider>', 'sim (simulated platform) or gramine (/dev/attestation)', (v: string) => {
      if (v !== 'sim' && v !== 'gramine') throw new InvalidArgumentError('expected sim or gramine');
      return v;
    })
    .option('--sim-state <file>', 'simulated platform state (created when missing; trust it on the broker with --trust-sim-root)', './.kubetee/sim-platform.json')
    .option('--mrenclave <hex>', 'sim: MRENCLAVE (64 hex digits)', parseHex32)
    .option('--mrsigner <hex>', 'sim: MRSIGNER (64 hex digits)', parseHex32)
    .option('--isv-prod-id <n>', 'sim: ISVPRODID', parseU16)
    .option('--isv-svn <n>', 'sim: ISVSVN', parseU16)
    .option('--debug', 'sim: a debug enclave (brokers refuse these by default)')
    .option('--gramine-root <dir>', 'gramine: where the attestation pseudo-files are', '/dev/attestation');
}

async function evidenceFrom(opts: EvidenceOptions): Promise<EvidenceProvider> {
  const { gramineEvidence, simEvidence } = await clientLib();
  if (opts.evidence === 'gramine') return gramineEvidence(opts.gramineRoot);
  const { SimulatedPlatform } = await sim();
  const stateFile = resolve(opts.simState ?? './.kubetee/sim-platform.json');
  let platform: SimulatedPlatform;
  if (existsSync(stateFile)) {
    platform = simStateFrom(SimulatedPlatform, readText(stateFile, 'the simulated platform state'), stateFile);
  } else {
    platform = await SimulatedPlatform.create();
    writeFileSync(stateFile, JSON.stringify(platform.toJSON()), { mode: 0o600 });
    process.stderr.write(`kubetee: created a simulated platform in ${stateFile}; start the broker with --trust-sim-root ${stateFile}\n`);
  }
  return simEvidence(platform, {
    ...(opts.mrenclave ? { mrenclave: opts.mrenclave } : {}),
    ...(opts.mrsigner ? { mrsigner: opts.mrsigner } : {}),
    ...(opts.isvProdId !== undefined ? { isvProdId: opts.isvProdId } : {}),
    ...(opts.isvSvn !== undefined ? { isvSvn: opts.isvSvn } : {}),
    ...(opts.debug ? { debug: true } : {}),
  });
}

async function protocolClient(opts: EvidenceOptions & { kbs?: string; ca?: string }): Promise<KbsClient> {
  const url = opts.kbs ?? process.env[KBS_URL_ENV];
  if (!url) throw new UsageError('USAGE', 'no key broker URL given', { hint: `pass --kbs http://HOST:PORT or set ${KBS_URL_ENV}` });
  const { KbsClient } = await clientLib();
  return new KbsClient({ url, evidence: await evidenceFrom(opts), ...(opts.ca ? { ca: readText(opts.ca, 'the CA bundle') } : {}) });
}

function registerGetResource(kbs: Command): void {
  withEvidence(
    kbs
      .command('get-resource')
      .description('attest to the broker and fetch a secret (Trustee KBS protocol)')
      .option('--kbs <url>', `key broker URL (default $${KBS_URL_ENV})`)
      .requiredOption('--resource <path>', 'repo/type/tag')
      .option('--ver <n>', 'a specific key version (default current)', parsePositiveInt)
      .option('--out <file>', 'write the secret here (mode 0600) instead of stdout')
      .option('--ca <file>', 'PEM CA bundle for an https broker with a private CA')
      .option('--save-claims <file>', 'save the verified claims (for `kbs policy test`)'),
  ).action(async (opts: EvidenceOptions & { kbs?: string; ca?: string; resource: string; ver?: number; out?: string; saveClaims?: string }) => {
    const client = await protocolClient(opts);
    const value = await client.getResource(opts.resource, opts.ver === undefined ? {} : { version: opts.ver });
    if (opts.saveClaims && client.claims) writeFileSync(opts.saveClaims, `${JSON.stringify({ claims: client.claims }, null, 2)}\n`);
    if (opts.out) {
      writeFileSync(opts.out, value, { mode: 0o600 });
      process.stderr.write(`kubetee: ${value.length} bytes of ${opts.resource} written to ${opts.out}\n`);
    } else {
      process.stdout.write(value);
    }
  });
}

/** Progress on stderr when it is a terminal, at most ~10 updates per second. */
function progress(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 100 && done < total) return;
    last = now;
    const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
    process.stderr.write(`\r${label} ${pct}% (${(done / 1048576).toFixed(1)} / ${(total / 1048576).toFixed(1)} MiB)${done >= total ? '\n' : ''}`);
  };
}

function registerSeal(program: Command): void {
  program
    .command('seal')
    .description('encrypt a file (model, data set) with a fresh key held by the key broker')
    .requiredOption('--in <file>', 'file to seal')
    .requiredOption('--out <file>', 'sealed output (e.g. model.bin.sealed)')
    .requiredOption('--resource <path>', 'repo/type/tag under which the broker keeps the key')
    .option('--policy <file>', 'release policy to store for the resource first')
    .option('--kbs <url>', `key broker URL (default $${KBS_URL_ENV})`)
    .option('--token-file <file>', `admin (writer) token file (default $${TOKEN_FILE_ENV})`)
    .action(async (opts: ConnOptions & { in: string; out: string; resource: string; policy?: string }) => {
      const conn = adminConnection(opts);
      const { AdminClient } = await adminClient();
      const { sealWithBroker } = await sealLib();
      const admin = new AdminClient({ baseUrl: conn.url, token: conn.token });
      let policy: string | undefined;
      if (opts.policy) {
        policy = readText(opts.policy, 'the policy');
        (await policyEngine()).compilePolicy(policy, opts.policy);
      }
      const report = progress('sealing');
      const r = await sealWithBroker({
        inPath: opts.in,
        outPath: opts.out,
        resourcePath: opts.resource,
        store: { put: (path, value, o) => admin.put(path, value, o ?? {}), setPolicy: async (path, doc) => void (await admin.setPolicy(path, doc)) },
        ...(policy !== undefined ? { policy } : {}),
        ...(report ? { onProgress: report } : {}),
      });
      process.stdout.write(`sealed ${r.plaintextBytes} bytes into ${opts.out}; key: ${opts.resource} version ${r.keyVersion}\n`);
    });

  withEvidence(
    program
      .command('unseal')
      .description('decrypt a sealed file, fetching its key from the broker through attestation')
      .requiredOption('--in <file>', 'sealed file')
      .requiredOption('--out <file>', 'plaintext output (written only if every chunk verifies)')
      .option('--kbs <url>', `key broker URL (default $${KBS_URL_ENV})`)
      .option('--ca <file>', 'PEM CA bundle for an https broker with a private CA'),
  ).action(async (opts: EvidenceOptions & { in: string; out: string; kbs?: string; ca?: string }) => {
    const client = await protocolClient(opts);
    const { unsealWithBroker } = await sealLib();
    const report = progress('unsealing');
    const r = await unsealWithBroker({ inPath: opts.in, outPath: opts.out, releaser: client, ...(report ? { onProgress: report } : {}) });
    process.stdout.write(`unsealed ${r.plaintextBytes} bytes into ${opts.out} (key ${r.resourcePath} version ${r.keyVersion})\n`);
  });
}

/** `kubetee kbs serve|policy|get-resource`, `kubetee seal`, `kubetee unseal`. */
export function registerKeyBrokerCommands(program: Command): void {
  const kbs = kbsCommand(program);
  registerServe(kbs);
  registerPolicy(kbs);
  registerGetResource(kbs);
  registerSeal(program);
}

/** A simulated platform from its state file; a file that is not one says so without quoting it. */
function simStateFrom(Platform: typeof SimulatedPlatform, text: string, file: string): SimulatedPlatform {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError('INPUT_INVALID', `--sim-state ${file} is not a simulated platform state (not JSON)`, { hint: 'pass the file `kubetee sim init --state FILE` wrote, or a path that does not exist yet to create one' });
  }
  return Platform.fromJSON(json as Parameters<typeof Platform.fromJSON>[0]);
}
