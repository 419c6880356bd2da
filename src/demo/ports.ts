import type { EnclaveBuild, ModelProtectionPorts } from './model-protection.js';
import type { DataSharingPorts } from './data-sharing.js';
import { requestJson } from './http-client.js';
import { releaseOverKbs } from './release.js';
import { reviewPod } from './admission.js';

/** The model owner's side: the key broker's admin API. */
export interface OwnerApi {
  storeKey(resourcePath: string, key: Uint8Array): Promise<number>;
  setPolicy(resourcePath: string, policyYaml: string): Promise<void>;
  disableKey(resourcePath: string): Promise<void>;
}

/** The simulated machine: quotes for an enclave build, and its development-only controls. */
export interface PlatformApi {
  quote(build: EnclaveBuild, reportData: Uint8Array): Promise<Uint8Array>;
  tcbRecovery(): Promise<string>;
  updatePlatform(): Promise<string>;
}

/** The owner over the admin HTTP API with a bearer token. */
export function httpOwner(url: string, token: string): OwnerApi {
  return {
    async storeKey(path, key) {
      const info = await requestJson<{ currentVersion: number }>('PUT', `${url}/admin/v1/secrets/${path}`, {
        token,
        body: { value: Buffer.from(key).toString('base64'), description: 'demo: key of the sealed model file' },
      });
      return info.currentVersion;
    },
    async setPolicy(path, policy) {
      await requestJson('PUT', `${url}/admin/v1/policies/${path}`, { token, body: { policy } });
    },
    async disableKey(path) {
      await requestJson('POST', `${url}/admin/v1/secrets/${path}/disable`, { token, body: {} });
    },
  };
}

/** The simulated platform over `kubetee up`'s loopback-only development endpoints. */
export function httpPlatform(url: string): PlatformApi {
  const base = `${url}/dev/simulated-platform`;
  return {
    async quote(build, reportData) {
      const r = await requestJson<{ quote: string }>('POST', `${base}/quote`, {
        body: { mrenclave: build.mrEnclave, mrsigner: build.mrSigner, debug: build.debug, reportData: Buffer.from(reportData).toString('hex') },
      });
      return new Uint8Array(Buffer.from(r.quote, 'base64'));
    },
    async tcbRecovery() {
      return (await requestJson<{ status: string }>('POST', `${base}/tcb-recovery`, { body: {} })).status;
    },
    async updatePlatform() {
      return (await requestJson<{ status: string }>('POST', `${base}/update`, { body: {} })).status;
    },
  };
}

/** Everything the scenario needs, over HTTP against a running `kubetee up` at `url`. */
export function httpScenarioPorts(url: string, adminToken: string, workDir: string): ModelProtectionPorts & DataSharingPorts {
  const owner = httpOwner(url, adminToken);
  const platform = httpPlatform(url);
  return {
    storeKey: (path, key) => owner.storeKey(path, key),
    setPolicy: (path, policy) => owner.setPolicy(path, policy),
    disableKey: (path) => owner.disableKey(path),
    release: (path, build) => releaseOverKbs(url, platform, path, build),
    tcbRecovery: () => platform.tcbRecovery(),
    updatePlatform: () => platform.updatePlatform(),
    admitPod: (phase, pod, uid) => reviewPod(url, phase, pod, uid),
    placeModelServerPod: async (epcMiB) => (await requestJson<{ detail: string }>('POST', `${url}/dev/simulated-node/model-server`, { body: { epcMiB } })).detail,
    workDir,
  };
}
