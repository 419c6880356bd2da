import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { DeployError } from './errors.js';
import { FIELD_MANAGER } from './names.js';
import { objectRef, type KubeObject } from './objects.js';

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
}

/**
 * The few API operations install, uninstall and doctor need, over
 * @kubernetes/client-node. Every failure becomes a DeployError that says
 * which object and what the API server answered.
 */
export interface Cluster {
  readonly server: string;
  readonly context: string;
  /** Server-side apply with kubetee's field manager (force: kubetee owns these fields). */
  apply(obj: KubeObject, options?: { dryRun?: boolean }): Promise<KubeObject>;
  /** The live object, or undefined when it does not exist. */
  get(ref: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, options?: { namespace?: string; labelSelector?: string; fieldSelector?: string }): Promise<KubeObject[]>;
  /** Deletes with foreground-independent background propagation; false when it was already gone. */
  delete(ref: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<boolean>;
  create(obj: KubeObject, options?: { dryRun?: boolean }): Promise<KubeObject>;
}

/**
 * Without any kubeconfig the client library falls back to http://localhost:8080
 * and the first request fails with a confusing TLS message. Say instead that
 * none was found, and everywhere it was looked for.
 */
function assertSomeKubeconfig(env: NodeJS.ProcessEnv): void {
  const fromEnv = (env['KUBECONFIG'] ?? '').split(delimiter).filter(Boolean);
  const home = join(homedir(), '.kube', 'config');
  const inCluster = !!env['KUBERNETES_SERVICE_HOST'] && existsSync(SERVICE_ACCOUNT_TOKEN);
  if (fromEnv.some((f) => existsSync(f)) || existsSync(home) || inCluster) return;
  const looked = [
    `KUBECONFIG (${fromEnv.length ? `${fromEnv.join(', ')}: not found` : 'not set'})`,
    `${home} (not found)`,
    `in-cluster service account (${!env['KUBERNETES_SERVICE_HOST'] ? 'KUBERNETES_SERVICE_HOST not set' : `${SERVICE_ACCOUNT_TOKEN} not found`})`,
  ];
  throw new DeployError('KUBECONFIG_NOT_FOUND', `no kubeconfig found; looked at ${looked.join(', ')}`, {
    hint: 'pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod with a service account',
    exitCode: 2,
  });
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfig(options: ClusterOptions): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) {
      if (!existsSync(options.kubeconfig)) {
        throw new DeployError('KUBECONFIG_INVALID', `kubeconfig ${options.kubeconfig} does not exist`, { hint: 'pass --kubeconfig with the path of a kubeconfig file', exitCode: 2 });
      }
      kc.loadFromFile(options.kubeconfig);
    } else {
      assertSomeKubeconfig(process.env);
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof DeployError) throw err;
    throw new DeployError('KUBECONFIG_INVALID', `cannot load kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ' (KUBECONFIG or ~/.kube/config)'}: ${(err as Error).message}`, {
      hint: 'check the file is a valid kubeconfig (kubectl config view)',
      exitCode: 2,
      cause: err,
    });
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new DeployError('CONTEXT_NOT_FOUND', `context "${options.context}" is not in the kubeconfig`, {
        hint: known.length ? `known contexts: ${known.join(', ')}` : 'the kubeconfig has no contexts',
        exitCode: 2,
      });
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new DeployError('KUBECONFIG_INVALID', 'the kubeconfig has no current cluster', { hint: 'pass --context or set current-context in the kubeconfig', exitCode: 2 });
  }
  return kc;
}

/** What the API server said, in one line (its Status message when there is one). */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    let message: string | undefined;
    if (typeof body === 'string') {
      try {
        message = (JSON.parse(body) as { message?: string }).message;
      } catch {
        message = body.slice(0, 300);
      }
    } else if (body && typeof body === 'object') message = (body as { message?: string }).message;
    return `HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  return e.cause?.code ?? e.code ?? e.message ?? String(err);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

function isConnectionError(err: unknown): boolean {
  if (err instanceof ApiException) return false;
  const e = err as { code?: string; cause?: { code?: string }; type?: string };
  const code = e.cause?.code ?? e.code ?? '';
  return /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EAI_AGAIN|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO)/.test(code) || e.type === 'system';
}

export function connectCluster(options: ClusterOptions): Cluster {
  const kc = loadKubeConfig(options);
  const api = KubernetesObjectApi.makeApiClient(kc);
  const server = kc.getCurrentCluster()?.server ?? '(unknown)';
  const wrap = async <T>(what: string, code: 'APPLY_FAILED' | 'DELETE_FAILED', fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) {
        throw new DeployError('CLUSTER_UNREACHABLE', `cannot reach the API server ${server} (${apiErrorMessage(err)}) while trying to ${what}`, {
          hint: 'check --kubeconfig/--context and that the cluster is up (kubectl cluster-info)',
          cause: err,
        });
      }
      throw new DeployError(code, `${what} failed: ${apiErrorMessage(err)}`, {
        hint:
          err instanceof ApiException && err.code === 401
            ? 'the API server rejected the credentials in the kubeconfig; refresh them (or pick another --context)'
            : err instanceof ApiException && err.code === 403
              ? 'your user lacks the RBAC permission for this; install needs cluster-admin'
              : 'see the API server message above',
        cause: err,
      });
    }
  };
  return {
    server,
    context: kc.getCurrentContext(),
    apply: (obj, o = {}) =>
      wrap(`apply ${objectRef(obj)}`, 'APPLY_FAILED', async () => {
        // Status fields are never applied; stringData of Secrets is write-only.
        const body = { ...obj } as KubernetesObject;
        return (await api.patch(body, undefined, o.dryRun ? 'All' : undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply)) as KubeObject;
      }),
    get: (ref) =>
      wrap(`read ${objectRef(ref)}`, 'APPLY_FAILED', async () => {
        try {
          return (await api.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.metadata.name, ...(ref.metadata.namespace ? { namespace: ref.metadata.namespace } : {}) } })) as KubeObject;
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      }),
    list: (apiVersion, kind, o = {}) =>
      wrap(`list ${kind}${o.namespace ? ` in ${o.namespace}` : ''}`, 'APPLY_FAILED', async () => {
        try {
          const res = await api.list(apiVersion, kind, o.namespace, undefined, undefined, undefined, o.fieldSelector, o.labelSelector);
          return res.items as KubeObject[];
        } catch (err) {
          // A kind the server does not serve (e.g. RuntimeClass disabled) lists as empty.
          if (isNotFound(err) || /Unrecognized API version and kind/.test((err as Error).message ?? '')) return [];
          throw err;
        }
      }),
    delete: (ref) =>
      wrap(`delete ${objectRef(ref)}`, 'DELETE_FAILED', async () => {
        try {
          await api.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.metadata.name, ...(ref.metadata.namespace ? { namespace: ref.metadata.namespace } : {}) } }, undefined, undefined, undefined, undefined, 'Background');
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          throw err;
        }
      }),
    create: (obj, o = {}) => wrap(`create ${objectRef(obj)}`, 'APPLY_FAILED', async () => (await api.create(obj as KubernetesObject, undefined, o.dryRun ? 'All' : undefined, FIELD_MANAGER)) as KubeObject),
  };
}
