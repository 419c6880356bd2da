import { Command } from 'commander';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { UsageError } from '../../common/errors.js';
import { isTokenShaped } from '../auth/token-format.js';
import { parseInstant, parsePositiveInt } from '../../cli/options.js';
import { KbsStoreError } from '../store/errors.js';
import { openKbsStore } from '../store/open-store.js';
import { verifyAuditChain } from '../audit/append.js';
import { parseAuditAnchor, type AuditVerification } from '../audit/chain.js';
import { parseRole } from '../auth/tokens.js';
import { MAX_VALUE_BYTES, type SecretInfo, type VersionInfo } from '../secrets/service.js';
import { AdminClient } from './client.js';

/*
 * Thin commands over the admin API: parse flags, call AdminClient, print.
 * `kubetee secret …` manages secrets and keys; `kubetee kbs token|audit|master-key …`
 * manage the broker. The `kbs` group is shared with the attestation side
 * (`kbs serve`, `kbs policy`, …): whoever registers first creates it.
 */

interface ConnOptions {
  kbs?: string;
  tokenFile?: string;
}

const KBS_URL_ENV = 'KUBETEE_KBS_URL';
const TOKEN_FILE_ENV = 'KUBETEE_KBS_TOKEN_FILE';

function withConn(cmd: Command): Command {
  return cmd
    .option('--kbs <url>', `key broker URL (default $${KBS_URL_ENV})`)
    .option('--token-file <file>', `file holding an admin token (default $${TOKEN_FILE_ENV})`);
}

/** Reads the admin token; refuses a file others can read, like ssh does for keys. */
export function readTokenFile(file: string): string {
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('FILE_UNREADABLE', `cannot read the token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'the broker writes the first admin token on its first start and prints where',
    });
  }
  if ((mode & 0o077) !== 0) {
    throw new KbsStoreError('TOKEN_FILE_UNUSABLE', `the token file ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)})`, { hint: `chmod 600 ${file}` });
  }
  const token = text.trim();
  if (token === '') throw new UsageError('FILE_UNREADABLE', `the token file ${file} is empty`, { hint: 'the broker writes the first admin token on its first start and prints where' });
  // Checked here so a wrong file never travels to the broker as a bearer token (and is never echoed).
  if (!isTokenShaped(token)) throw new UsageError('INPUT_INVALID', `the token file ${file} does not hold a kubetee admin token (kbt_ followed by 43 characters)`, { hint: 'pass the file the broker or `kubetee kbs token create --out FILE` wrote' });
  return token;
}

function client(opts: ConnOptions): AdminClient {
  const url = opts.kbs ?? process.env[KBS_URL_ENV];
  const file = opts.tokenFile ?? process.env[TOKEN_FILE_ENV];
  if (!url) throw new UsageError('USAGE', 'no key broker URL given', { hint: `pass --kbs http://HOST:PORT or set ${KBS_URL_ENV}` });
  if (!file) throw new UsageError('USAGE', 'no admin token file given', { hint: `pass --token-file FILE or set ${TOKEN_FILE_ENV}` });
  return new AdminClient({ baseUrl: url, token: readTokenFile(file) });
}

/** The value to store: --from-file, or stdin when it is piped. */
function readValue(opts: { fromFile?: string }, required: boolean): Buffer | undefined {
  let value: Buffer;
  if (opts.fromFile) {
    try {
      value = readFileSync(opts.fromFile);
    } catch (err) {
      throw new UsageError('FILE_UNREADABLE', `cannot read ${opts.fromFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else {
    if (!required) return undefined;
    if (process.stdin.isTTY) throw new UsageError('USAGE', 'no value given', { hint: 'pipe it in (… | kubetee secret put PATH) or pass --from-file FILE' });
    value = readFileSync(0);
  }
  if (value.length === 0) throw new UsageError('USAGE', 'the value is empty', { hint: 'pipe the value in or pass --from-file FILE' });
  if (value.length > MAX_VALUE_BYTES) throw new UsageError('USAGE', `the value is ${value.length} bytes; the limit is ${MAX_VALUE_BYTES}`, { hint: 'seal large files with `kubetee seal`' });
  return value;
}

const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const json = (v: unknown): void => out(JSON.stringify(v, null, 2));

function printVersion(v: VersionInfo, path: string): void {
  out(`${path} version ${v.version}: ${v.state}${v.current ? ' (current)' : ''}${v.expiresAt ? `, expires ${v.expiresAt}` : ''}`);
}

function printSecret(s: SecretInfo): void {
  out(`${s.path}  (${s.kind})${s.description ? `  ${s.description}` : ''}`);
  out(`  created ${s.createdAt}, updated ${s.updatedAt}, current version ${s.currentVersion}`);
  const rows = s.versions.map((v) => [String(v.version) + (v.current ? '*' : ''), v.state, `${v.valueBytes} B`, v.expiresAt ?? 'never', v.masterKeyId ?? '-', v.createdAt]);
  table(['VERSION', 'STATE', 'SIZE', 'EXPIRES', 'MASTER KEY', 'CREATED'], rows, '  ');
}

function table(head: string[], rows: string[][], indent = ''): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => indent + r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  out([line(head), ...rows.map(line)].join('\n'));
}

function expiry(opts: { expiresAt?: Date }): { expiresAt?: string } {
  return opts.expiresAt ? { expiresAt: opts.expiresAt.toISOString() } : {};
}

/** `kubetee secret put|get|list|describe|rotate|expire|disable|enable|destroy`. */
export function registerSecretCommands(program: Command): void {
  const secret = program.command('secret').description('manage the key broker\'s secrets and keys (versions, rotation, expiry, destroy)');

  withConn(secret.command('put <path>'))
    .description('store a secret (value from stdin or --from-file), or a new version of it; --generate makes a random key')
    .option('--from-file <file>', 'read the value from this file instead of stdin')
    .option('--generate', 'create a random key instead of storing a value')
    .option('--bytes <n>', 'key length for --generate (default 32)', parsePositiveInt)
    .option('--description <text>', 'what it is for')
    .option('--expires-at <time>', 'not released at or after this ISO-8601 time', parseInstant)
    .option('--json', 'print JSON')
    .action(async (path: string, opts: ConnOptions & { fromFile?: string; generate?: boolean; bytes?: number; description?: string; expiresAt?: Date; json?: boolean }) => {
      const c = client(opts);
      let info: SecretInfo;
      if (opts.generate) {
        if (opts.fromFile) throw new UsageError('USAGE', '--generate and --from-file exclude each other');
        info = await c.generate(path, { ...(opts.bytes ? { bytes: opts.bytes } : {}), ...(opts.description ? { description: opts.description } : {}), ...expiry(opts) });
      } else {
        const value = readValue(opts, true)!;
        try {
          info = await c.put(path, value, { ...(opts.description ? { description: opts.description } : {}), ...expiry(opts) });
        } finally {
          value.fill(0);
        }
      }
      if (opts.json) json(info);
      else out(`stored ${info.path} version ${info.currentVersion}`);
    });

  withConn(secret.command('get <path>'))
    .description('print a secret\'s value (admin role; audited)')
    .option('--ver <n>', 'a specific version number (default: current)', parsePositiveInt)
    .option('--out <file>', 'write the value to this file (mode 0600) instead of stdout')
    .action(async (path: string, opts: ConnOptions & { ver?: number; out?: string }) => {
      const r = await client(opts).getValue(path, opts.ver);
      try {
        if (opts.out) writeFileSync(opts.out, r.value, { mode: 0o600 });
        else process.stdout.write(r.value);
      } finally {
        r.value.fill(0);
      }
    });

  withConn(secret.command('list'))
    .description('list secrets and keys (never their values)')
    .option('--prefix <prefix>', 'only paths starting with this')
    .option('--json', 'print JSON')
    .action(async (opts: ConnOptions & { prefix?: string; json?: boolean }) => {
      const c = client(opts);
      // Page through (1000 per request); bounded so a misbehaving server cannot loop us forever.
      const list: Awaited<ReturnType<AdminClient['listSecrets']>> = [];
      for (let page = 0; page < 1000; page++) {
        const after = list.length ? list[list.length - 1]!.path : undefined;
        const batch = await c.listSecrets({ ...(opts.prefix ? { prefix: opts.prefix } : {}), ...(after ? { after } : {}), limit: 1000 });
        list.push(...batch);
        if (batch.length < 1000) break;
      }
      if (opts.json) return json(list);
      if (list.length === 0) return out('no secrets');
      table(['PATH', 'KIND', 'VERSION', 'UPDATED'], list.map((s) => [s.path, s.kind, String(s.currentVersion), s.updatedAt]));
    });

  withConn(secret.command('describe <path>'))
    .description('show a secret\'s metadata and versions (never the value)')
    .option('--json', 'print JSON')
    .action(async (path: string, opts: ConnOptions & { json?: boolean }) => {
      const info = await client(opts).describe(path);
      if (opts.json) json(info);
      else printSecret(info);
    });

  withConn(secret.command('rotate <path>'))
    .description('add a new current version: fresh random bytes for keys, the new value (stdin or --from-file) for secrets')
    .option('--from-file <file>', 'new value from this file')
    .option('--stdin', 'read the new value from stdin')
    .option('--expires-at <time>', 'expiry of the new version', parseInstant)
    .action(async (path: string, opts: ConnOptions & { fromFile?: string; stdin?: boolean; expiresAt?: Date }) => {
      const c = client(opts);
      const value = readValue(opts, opts.stdin === true);
      try {
        printVersion(await c.rotate(path, { ...(value ? { value } : {}), ...expiry(opts) }), path);
      } finally {
        value?.fill(0);
      }
    });

  withConn(secret.command('expire <path>'))
    .description('set when a version stops being released (--at TIME) or clear it (--never)')
    .option('--at <time>', 'ISO-8601 time', parseInstant)
    .option('--never', 'remove the expiry')
    .option('--ver <n>', 'version number (default: current)', parsePositiveInt)
    .action(async (path: string, opts: ConnOptions & { at?: Date; never?: boolean; ver?: number }) => {
      if ((opts.at === undefined) === (opts.never !== true)) throw new UsageError('USAGE', 'give exactly one of --at TIME or --never');
      printVersion(await client(opts).expire(path, opts.at ? opts.at.toISOString() : null, opts.ver), path);
    });

  for (const [name, what] of [
    ['disable', 'stop releasing a version (reversible with enable)'],
    ['enable', 'release a disabled version again'],
  ] as const) {
    withConn(secret.command(`${name} <path>`))
      .description(what)
      .option('--ver <n>', 'version number (default: current)', parsePositiveInt)
      .action(async (path: string, opts: ConnOptions & { ver?: number }) => {
        const c = client(opts);
        printVersion(name === 'disable' ? await c.disable(path, opts.ver) : await c.enable(path, opts.ver), path);
      });
  }

  withConn(secret.command('destroy <path>'))
    .description('erase one version\'s value irrecoverably (admin role)')
    .requiredOption('--ver <n>', 'the version number to destroy', parsePositiveInt)
    .action(async (path: string, opts: ConnOptions & { ver: number }) => {
      printVersion(await client(opts).destroy(path, opts.ver), path);
    });
}

/** The shared `kubetee kbs` group: found if the attestation side registered it first, else created. */
export function kbsCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'kbs') ?? program.command('kbs').description('the attestation-gated key broker (serve, policies, tokens, audit)');
}

function printVerification(v: AuditVerification, where: string): void {
  if (v.ok) {
    out(`audit chain OK: ${v.count} records (${where})`);
    out(`head: ${v.headSeq}:${v.headHash}  (keep it; pass it later as --anchor to also detect truncation)`);
    return;
  }
  throw new KbsStoreError('AUDIT_CHAIN_BROKEN', `audit record ${v.seq} is ${v.problem}: ${v.detail} (${where})`, {
    hint: 'the audit log was altered outside the broker; compare with a backup or an exported copy',
  });
}

/** `kubetee kbs token create|revoke|list`, `kbs audit verify|list`, `kbs master-key rewrap`, `kbs signing-key list|rotate`. */
export function registerKbsAdminCommands(program: Command): void {
  const kbs = kbsCommand(program);

  const token = kbs.command('token').description('admin bearer tokens (roles admin, writer, auditor)');
  withConn(token.command('create'))
    .description('create a token; prints it once (store it: it cannot be shown again)')
    .requiredOption('--name <name>', 'who or what it is for')
    .requiredOption('--role <role>', 'admin | writer | auditor', (v) => {
      try {
        return parseRole(v);
      } catch {
        throw new UsageError('USAGE', `"${v}" is not a role (admin, writer, auditor)`);
      }
    })
    .option('--expires-at <time>', 'stops working at this ISO-8601 time', parseInstant)
    .option('--out <file>', 'write the token to this file (mode 0600) instead of stdout')
    .action(async (opts: ConnOptions & { name: string; role: 'admin' | 'writer' | 'auditor'; expiresAt?: Date; out?: string }) => {
      const r = await client(opts).createToken(opts.name, opts.role, opts.expiresAt?.toISOString() ?? null);
      if (opts.out) {
        writeFileSync(opts.out, `${r.token}\n`, { mode: 0o600, flag: 'wx' });
        out(`created ${r.info.role} token ${r.info.id} (${r.info.name}) in ${opts.out}`);
      } else {
        process.stderr.write(`created ${r.info.role} token ${r.info.id} (${r.info.name})\n`);
        out(r.token);
      }
    });
  withConn(token.command('revoke <id>'))
    .description('revoke a token by id (see token list)')
    .action(async (id: string, opts: ConnOptions) => {
      const t = await client(opts).revokeToken(id);
      out(`revoked token ${t.id} (${t.name}) at ${t.revokedAt}`);
    });
  withConn(token.command('list'))
    .description('list tokens (ids, names, roles; never the tokens)')
    .option('--json', 'print JSON')
    .action(async (opts: ConnOptions & { json?: boolean }) => {
      const list = await client(opts).listTokens();
      if (opts.json) return json(list);
      table(['ID', 'NAME', 'ROLE', 'CREATED', 'EXPIRES', 'REVOKED'], list.map((t) => [t.id, t.name, t.role, t.createdAt, t.expiresAt ?? 'never', t.revokedAt ?? '-']));
    });

  const audit = kbs.command('audit').description('the hash-chained audit trail');
  withConn(audit.command('verify'))
    .description('check that no audit record was edited, removed or reordered (via the broker, or --db directly)')
    .option('--db <url>', 'open the database directly (sqlite:PATH or postgres://…) instead of asking the broker')
    .option('--anchor <seq:hash>', 'a head printed by an earlier verify: also detects records cut off the end', (v: string) => {
      if (!parseAuditAnchor(v)) throw new UsageError('USAGE', `"${v}" is not SEQ:HASH as printed by \`kbs audit verify\``);
      return v;
    })
    .option('--json', 'print JSON')
    .action(async (opts: ConnOptions & { db?: string; anchor?: string; json?: boolean }) => {
      let v: AuditVerification;
      let where: string;
      if (opts.db) {
        const store = await openKbsStore(opts.db, { readonly: true });
        where = store.location;
        try {
          v = await verifyAuditChain(store, { anchor: opts.anchor ? parseAuditAnchor(opts.anchor) : undefined });
        } finally {
          await store.close();
        }
      } else {
        const c = client(opts);
        v = await c.verifyAudit(opts.anchor);
        where = opts.kbs ?? process.env[KBS_URL_ENV] ?? '';
      }
      if (opts.json && v.ok) return json(v);
      printVerification(v, where);
    });
  withConn(audit.command('list'))
    .description('print audit records (admin or auditor role)')
    .option('--after <seq>', 'only records after this sequence number', (s) => Number(parsePositiveInt(s)))
    .option('--limit <n>', 'at most this many (default 100, max 1000)', parsePositiveInt)
    .option('--json', 'print JSON')
    .action(async (opts: ConnOptions & { after?: number; limit?: number; json?: boolean }) => {
      const records = await client(opts).listAudit({ ...(opts.after !== undefined ? { afterSeq: opts.after } : {}), ...(opts.limit ? { limit: opts.limit } : {}) });
      if (opts.json) return json(records);
      table(['SEQ', 'AT', 'ACTOR', 'ACTION', 'RESOURCE', 'OUTCOME', 'REASON'], records.map((r) => [String(r.seq), r.at, r.actor, r.action, r.resource, r.outcome, r.reason]));
    });

  const mk = kbs.command('master-key').description('the master keyring that wraps every data key');
  withConn(mk.command('rewrap'))
    .description('re-wrap all data keys and re-MAC policy and admin token rows under the active master key (after adding a new key in front of the keyring)')
    .action(async (opts: ConnOptions) => {
      const r = await client(opts).rewrap();
      const macs = r.rowMacs ? `, re-MAC'd ${r.rowMacs.policies} policy and ${r.rowMacs.tokens} admin token row(s)` : '';
      out(`re-wrapped ${r.rewrapped} data key(s) and ${r.tokenSigningKeys ?? 0} token signing key(s)${macs}; all now under master key ${r.activeKeyId}`);
      if (r.rowMacs && r.rowMacs.tampered.length > 0) {
        out(`warning: ${r.rowMacs.tampered.length} row(s) do not verify and were left as they are (still refused, KBS_ROW_TAMPERED): ${r.rowMacs.tampered.join(', ')}`);
        out('review the audit trail, then set those policies again or revoke those tokens');
      }
    });

  const sk = kbs.command('signing-key').description('the keys signing attestation tokens (shared by every replica)');
  withConn(sk.command('list'))
    .description('list the token signing keys: the current one and retired ones still verifying (admin or auditor role)')
    .option('--json', 'print JSON (includes the public JWKs)')
    .action(async (opts: ConnOptions & { json?: boolean }) => {
      const keys = await client(opts).listSigningKeys();
      if (opts.json) return json(keys);
      table(['KID', 'CREATED', 'RETIRED', 'MASTER KEY'], keys.map((k) => [k.kid, k.createdAt, k.retiredAt ?? (k.current ? 'current' : '-'), k.masterKeyId]));
    });
  withConn(sk.command('rotate'))
    .description('make a fresh signing key current; tokens signed by the old one stay valid until they expire')
    .action(async (opts: ConnOptions) => {
      const k = await client(opts).rotateSigningKey();
      out(`token signing key ${k.kid} is now current; other replicas pick it up within a minute`);
    });
}

/** Everything this component adds to the CLI (one line in src/cli/commands.ts). */
export function registerKbsStoreCommands(program: Command): void {
  registerSecretCommands(program);
  registerKbsAdminCommands(program);
}
