import type { FastifyInstance } from 'fastify';
import type { SecretService } from '../secrets/service.js';
import type { TokenService } from '../auth/tokens.js';

/** Every admin route lives under this prefix. */
export const ADMIN_PREFIX = '/admin/v1';

export interface AdminRoutesOptions {
  service: SecretService;
  tokens: TokenService;
  /**
   * Checks a policy document before it is stored (the policy owner compiles
   * the CEL here); throw a KubeteeError with a code to refuse it.
   */
  validatePolicy?: (document: string, path: string) => void | Promise<void>;
}

/**
 * The admin HTTP API as a fastify plugin: `await app.register(adminRoutes, { service, tokens })`.
 * Bearer-token authentication with roles; every call audited. Routes: see docs/key-broker-store.md.
 */
export async function adminRoutes(_app: FastifyInstance, _options: AdminRoutesOptions): Promise<void> {
  // Implemented in the next commit; the signature is stable.
}
