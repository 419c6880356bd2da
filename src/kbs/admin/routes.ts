import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { KubeteeError } from '../../common/errors.js';
import type { SecretService } from '../secrets/service.js';
import type { AdminPrincipal, TokenService } from '../auth/tokens.js';
import type { TokenRole } from '../store/types.js';
import { DEFAULT_POLICY_PATH } from '../store/types.js';
import { KbsStoreError } from '../store/errors.js';
import { adminHttpStatus } from './http-status.js';
import { parseAuditAnchor } from '../audit/chain.js';

/** Every admin route lives under this prefix. */
export const ADMIN_PREFIX = '/admin/v1';

/** Admin request bodies are small JSON; a 1 MiB value is ~1.4 MiB in base64. */
export const ADMIN_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

export interface AdminRoutesOptions {
  service: SecretService;
  tokens: TokenService;
  /**
   * Checks a policy document before it is stored (the policy owner compiles
   * the CEL here); throw a KubeteeError with a code to refuse it.
   */
  validatePolicy?: (document: string, path: string) => void | Promise<void>;
  /** Called after a token signing key rotation, so this process signs with the new key at once (kbsPlugin wires it). */
  onTokenSigningKeyRotated?: () => void | Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    kbsAdmin?: AdminPrincipal;
  }
}

const ALL: readonly TokenRole[] = ['admin', 'writer', 'auditor'];
const WRITERS: readonly TokenRole[] = ['admin', 'writer'];
const ADMIN: readonly TokenRole[] = ['admin'];

/** Base64 (standard or url-safe) to bytes; INVALID_VALUE when it is not base64. */
function decodeBase64(text: string, field: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new KbsStoreError('INVALID_VALUE', `${field} is not base64`, { hint: 'send the value base64-encoded' });
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

const expiresAt = z.string().max(64).nullable().optional();
const version = z.number().int().positive().optional();
const schemas = {
  put: z.object({ value: z.string().min(1), description: z.string().max(1024).optional(), expiresAt }).strict(),
  generate: z.object({ bytes: z.number().int().optional(), description: z.string().max(1024).optional(), expiresAt }).strict(),
  rotate: z.object({ value: z.string().min(1).optional(), bytes: z.number().int().optional(), expiresAt }).strict(),
  expire: z.object({ version, expiresAt: z.string().max(64).nullable() }).strict(),
  versionOnly: z.object({ version }).strict(),
  destroy: z.object({ version: z.number().int().positive() }).strict(),
  tokenCreate: z.object({ name: z.string(), role: z.string(), expiresAt }).strict(),
  policy: z.object({ policy: z.string() }).strict(),
  rewrap: z.object({ batchSize: z.number().int().positive().max(1000).optional() }).strict(),
  empty: z.object({}).strict(),
};

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : 'body';
    throw new KbsStoreError('INVALID_REQUEST', `invalid request: ${where}: ${issue.message}`, { hint: 'see docs/key-broker-store.md for the request format' });
  }
  return r.data;
}

function queryInt(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) throw new KbsStoreError('INVALID_REQUEST', `query parameter ${name} must be a non-negative integer`);
  return Number(value);
}

type Params = { repo: string; type: string; tag: string };
const pathOf = (p: Params): string => `${p.repo}/${p.type}/${p.tag}`;

/**
 * The admin HTTP API as a fastify plugin:
 * `await app.register(adminRoutes, { service, tokens })`. Encapsulated: its
 * error handler, body limit and authentication hook (onRequest, before the
 * body is read) apply only to its own routes.
 * Bearer-token authentication with roles; every change, value read, refused
 * (wrong role) and failed change is in the audit chain. Routes and roles:
 * docs/key-broker-store.md.
 */
export async function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions): Promise<void> {
  const { service, tokens } = options;
  app.addHook('onRoute', (routeOptions) => {
    routeOptions.bodyLimit ??= ADMIN_BODY_LIMIT_BYTES;
  });

  app.setErrorHandler(async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof KubeteeError) {
      const status = adminHttpStatus(err.code);
      if (status >= 500) request.log.error({ code: err.code, msg: err.message }, 'admin request failed');
      return reply.code(status).send({ error: err.toJSON() });
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      // Fastify's own parse errors (bad JSON, body too large, wrong content type).
      const code = e.statusCode === 413 ? 'INVALID_VALUE' : 'INVALID_REQUEST';
      return reply.code(e.statusCode).send({ error: { code, message: e.message ?? 'bad request', hint: 'send a JSON body with Content-Type: application/json' } });
    }
    request.log.error({ err: { message: e.message, code: e.code } }, 'unexpected admin error');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error; see the broker log' } });
  });

  // Authenticate before the body is read, so an unauthenticated client cannot make the broker parse megabytes.
  app.addHook('onRequest', async (req) => {
    const header = req.headers.authorization;
    const token = typeof header === 'string' && /^Bearer /i.test(header) ? header.slice(7).trim() : undefined;
    if (header !== undefined && token === undefined) {
      throw new KbsStoreError('TOKEN_INVALID', 'the Authorization header is not a Bearer token', { hint: 'send Authorization: Bearer <token>' });
    }
    req.kbsAdmin = await tokens.authenticate(token);
  });

  /** Checks the role, runs the handler; audits refusals and failed changes. */
  const route = <T>(
    roles: readonly TokenRole[],
    action: string,
    handler: (req: FastifyRequest, principal: AdminPrincipal) => Promise<T>,
    audited: 'change' | 'read' = 'read',
  ) => {
    return async (req: FastifyRequest): Promise<T> => {
      const principal = req.kbsAdmin;
      if (!principal) throw new KbsStoreError('TOKEN_MISSING', 'the request was not authenticated');
      const resource = resourceOf(req);
      if (!roles.includes(principal.role)) {
        await service.appendAudit({ actor: principal.actor, action, resource, outcome: 'denied', reason: `role ${principal.role} may not ${action}` });
        throw new KbsStoreError('ROLE_FORBIDDEN', `role ${principal.role} may not ${action}`, { hint: `needs one of: ${roles.join(', ')}` });
      }
      try {
        return await handler(req, principal);
      } catch (err) {
        if (audited === 'change' && err instanceof KubeteeError && adminHttpStatus(err.code) < 500) {
          // The change rolled back; record the refused attempt on its own.
          await service.appendAudit({ actor: principal.actor, action, resource, outcome: 'failure', reason: err.code }).catch(() => undefined);
        }
        throw err;
      }
    };
  };

  const P = ADMIN_PREFIX;
  const S = `${P}/secrets/:repo/:type/:tag`;
  const params = (req: FastifyRequest): Params => req.params as Params;

  app.get(`${P}/whoami`, route(ALL, 'whoami', async (_req, p) => p));

  // ---- secrets ----
  app.get(`${P}/secrets`, route(ALL, 'secret.list', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = queryInt(q['limit'], 'limit');
    const secrets = await service.list({ ...(q['prefix'] ? { prefix: q['prefix'] } : {}), ...(q['after'] ? { after: q['after'] } : {}), ...(limit ? { limit } : {}) });
    return { secrets };
  }));
  app.get(S, route(ALL, 'secret.describe', async (req) => service.describe(pathOf(params(req)))));
  app.get(`${S}/value`, route(ADMIN, 'secret.read', async (req, p) => {
    const v = queryInt((req.query as Record<string, string | undefined>)['version'], 'version');
    const r = await service.readValue(p.actor, pathOf(params(req)), v === undefined ? {} : { version: v });
    const value = r.value.toString('base64');
    r.value.fill(0);
    return { path: r.path, kind: r.kind, version: r.version, value };
  }, 'change'));
  app.put(S, route(WRITERS, 'secret.put', async (req, p) => {
    const b = parseBody(schemas.put, req.body);
    const value = decodeBase64(b.value, 'value');
    try {
      return await service.put(p.actor, { path: pathOf(params(req)), value, ...(b.description !== undefined ? { description: b.description } : {}), expiresAt: b.expiresAt ?? null });
    } finally {
      value.fill(0);
    }
  }, 'change'));
  app.post(`${S}/generate`, route(WRITERS, 'secret.generate', async (req, p) => {
    const b = parseBody(schemas.generate, req.body);
    return service.generateKey(p.actor, { path: pathOf(params(req)), ...(b.bytes !== undefined ? { keyBytes: b.bytes } : {}), ...(b.description !== undefined ? { description: b.description } : {}), expiresAt: b.expiresAt ?? null });
  }, 'change'));
  app.post(`${S}/rotate`, route(WRITERS, 'secret.rotate', async (req, p) => {
    const b = parseBody(schemas.rotate, req.body);
    const value = b.value === undefined ? undefined : decodeBase64(b.value, 'value');
    try {
      return await service.rotate(p.actor, pathOf(params(req)), { ...(value ? { value } : {}), ...(b.bytes !== undefined ? { keyBytes: b.bytes } : {}), expiresAt: b.expiresAt ?? null });
    } finally {
      value?.fill(0);
    }
  }, 'change'));
  app.post(`${S}/expire`, route(WRITERS, 'secret.expire', async (req, p) => {
    const b = parseBody(schemas.expire, req.body);
    return service.setExpiry(p.actor, pathOf(params(req)), { expiresAt: b.expiresAt, ...(b.version !== undefined ? { version: b.version } : {}) });
  }, 'change'));
  app.post(`${S}/disable`, route(WRITERS, 'secret.disable', async (req, p) => {
    const b = parseBody(schemas.versionOnly, req.body);
    return service.disable(p.actor, pathOf(params(req)), b.version !== undefined ? { version: b.version } : {});
  }, 'change'));
  app.post(`${S}/enable`, route(WRITERS, 'secret.enable', async (req, p) => {
    const b = parseBody(schemas.versionOnly, req.body);
    return service.enable(p.actor, pathOf(params(req)), b.version !== undefined ? { version: b.version } : {});
  }, 'change'));
  app.post(`${S}/destroy`, route(ADMIN, 'secret.destroy', async (req, p) => {
    const b = parseBody(schemas.destroy, req.body);
    return service.destroy(p.actor, pathOf(params(req)), { version: b.version });
  }, 'change'));

  // ---- policies (documents are opaque here; the policy component validates them) ----
  const policyPath = (req: FastifyRequest): string => {
    const p = req.params as Partial<Params>;
    return p.repo === undefined ? DEFAULT_POLICY_PATH : pathOf(p as Params);
  };
  app.get(`${P}/policies`, route(ALL, 'policy.list', async () => ({ policies: await service.listPolicies() })));
  for (const suffix of ['default', ':repo/:type/:tag']) {
    const url = `${P}/policies/${suffix}`;
    app.get(url, route(ALL, 'policy.get', async (req) => {
      const path = policyPath(req);
      const record = await service.getStoredPolicy(path);
      if (!record) throw new KbsStoreError('POLICY_NOT_FOUND', `no policy is stored for ${path}`, { hint: path === DEFAULT_POLICY_PATH ? 'the built-in default policy applies' : 'the default policy applies' });
      return record;
    }));
    app.put(url, route(ADMIN, 'policy.set', async (req, p) => {
      const b = parseBody(schemas.policy, req.body);
      const path = policyPath(req);
      if (options.validatePolicy) await options.validatePolicy(b.policy, path);
      return service.setPolicy(p.actor, path, b.policy);
    }, 'change'));
    app.delete(url, route(ADMIN, 'policy.delete', async (req, p) => {
      await service.deletePolicy(p.actor, policyPath(req));
      return { deleted: policyPath(req) };
    }, 'change'));
  }

  // ---- tokens ----
  app.get(`${P}/tokens`, route(ADMIN, 'token.list', async () => ({ tokens: await tokens.list() })));
  app.post(`${P}/tokens`, route(ADMIN, 'token.create', async (req, p) => {
    const b = parseBody(schemas.tokenCreate, req.body);
    return tokens.create(p.actor, { name: b.name, role: b.role as TokenRole, expiresAt: b.expiresAt ?? null });
  }, 'change'));
  app.post(`${P}/tokens/:id/revoke`, route(ADMIN, 'token.revoke', async (req, p) => {
    parseBody(schemas.empty, req.body);
    return tokens.revoke(p.actor, (req.params as { id: string }).id);
  }, 'change'));

  // ---- audit and master key ----
  app.get(`${P}/audit`, route(['admin', 'auditor'], 'audit.list', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const afterSeq = queryInt(q['afterSeq'], 'afterSeq');
    const limit = queryInt(q['limit'], 'limit');
    return { records: await service.listAudit({ ...(afterSeq !== undefined ? { afterSeq } : {}), ...(limit !== undefined ? { limit } : {}) }) };
  }));
  app.get(`${P}/audit/verify`, route(['admin', 'auditor'], 'audit.verify', async (req) => {
    const anchorText = (req.query as Record<string, string | undefined>)['anchor'];
    const anchor = anchorText === undefined ? undefined : parseAuditAnchor(anchorText);
    if (anchorText !== undefined && !anchor) throw new KbsStoreError('INVALID_REQUEST', 'anchor must be SEQ:HASH as printed by `kbs audit verify`');
    return service.verifyAudit(anchor);
  }));
  app.post(`${P}/master-key/rewrap`, route(ADMIN, 'master-key.rewrap', async (req, p) => {
    const b = parseBody(schemas.rewrap, req.body);
    return service.rewrapAll(p.actor, b.batchSize !== undefined ? { batchSize: b.batchSize } : {});
  }, 'change'));

  // ---- attestation-token signing keys (public halves only) ----
  app.get(`${P}/signing-keys`, route(['admin', 'auditor'], 'token-signing-key.list', async () => ({ keys: await service.listTokenSigningKeys() })));
  app.post(`${P}/signing-keys/rotate`, route(ADMIN, 'token-signing-key.rotate', async (req, p) => {
    parseBody(schemas.empty, req.body);
    const info = await service.rotateTokenSigningKey(p.actor);
    await options.onTokenSigningKeyRotated?.();
    return info;
  }, 'change'));
}

/** The audit `resource` of a request: the secret path, policy or token it targets. */
function resourceOf(req: FastifyRequest): string {
  const p = req.params as Partial<Params & { id: string }>;
  if (p.id) return `token:${p.id}`;
  const path = p.repo !== undefined ? `${p.repo}/${p.type}/${p.tag}` : '';
  if (req.url.includes('/policies/')) return `policy:${path || DEFAULT_POLICY_PATH}`;
  return path;
}
