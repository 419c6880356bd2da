import { AdmissionregistrationV1Api, KubeConfig, type V1MutatingWebhookConfiguration, type V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { WebhookError } from './errors.js';

export interface PublishResult {
  /** "MutatingWebhookConfiguration/name" for each object updated. */
  readonly updated: string[];
  /** Objects that already carried this bundle. */
  readonly unchanged: string[];
  /** Objects that do not exist (yet); publishing is retried later. */
  readonly missing: string[];
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
}

type Config = V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;

/** Loads a kubeconfig file into an admissionregistration client. */
export function admissionClientFromKubeconfig(path: string): AdmissionregistrationV1Api {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new WebhookError('CA_BUNDLE_PUBLISH_FAILED', `cannot load the kubeconfig ${path}: ${(err as Error).message}`, { cause: err, hint: 'check --kubeconfig' });
  }
  return kc.makeApiClient(AdmissionregistrationV1Api);
}

/**
 * Writes `caBundlePem` into every webhook's clientConfig.caBundle of the
 * MutatingWebhookConfiguration and ValidatingWebhookConfiguration named
 * `name`. Read-modify-replace with the object's resourceVersion, retried on
 * conflict, so concurrent edits by others are never overwritten.
 */
export async function publishCaBundle(api: AdmissionregistrationV1Api, name: string, caBundlePem: string): Promise<PublishResult> {
  const bundle = Buffer.from(caBundlePem).toString('base64');
  const result: PublishResult = { updated: [], unchanged: [], missing: [] };
  const kinds = [
    {
      kind: 'MutatingWebhookConfiguration',
      read: () => api.readMutatingWebhookConfiguration({ name }),
      replace: (body: Config) => api.replaceMutatingWebhookConfiguration({ name, body: body as V1MutatingWebhookConfiguration }),
    },
    {
      kind: 'ValidatingWebhookConfiguration',
      read: () => api.readValidatingWebhookConfiguration({ name }),
      replace: (body: Config) => api.replaceValidatingWebhookConfiguration({ name, body: body as V1ValidatingWebhookConfiguration }),
    },
  ];
  for (const k of kinds) {
    const label = `${k.kind}/${name}`;
    for (let attempt = 1; ; attempt++) {
      let obj: Config;
      try {
        obj = await k.read();
      } catch (err) {
        if (statusOf(err) === 404) {
          result.missing.push(label);
          break;
        }
        throw new WebhookError('CA_BUNDLE_PUBLISH_FAILED', `cannot read ${label}: ${(err as Error).message}`, { cause: err, hint: 'check that the kubeconfig can get/update admissionregistration.k8s.io webhook configurations' });
      }
      const hooks = obj.webhooks ?? [];
      if (hooks.every((w) => w.clientConfig.caBundle === bundle)) {
        result.unchanged.push(label);
        break;
      }
      for (const w of hooks) w.clientConfig.caBundle = bundle;
      try {
        await k.replace(obj);
        result.updated.push(label);
        break;
      } catch (err) {
        if (statusOf(err) === 409 && attempt < 5) continue;
        throw new WebhookError('CA_BUNDLE_PUBLISH_FAILED', `cannot update ${label}: ${(err as Error).message}`, { cause: err, hint: 'check that the kubeconfig may update admissionregistration.k8s.io webhook configurations' });
      }
    }
  }
  return result;
}
