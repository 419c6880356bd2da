import { KbsClient, KbsClientError } from '../kbs/client/index.js';
import type { EnclaveBuild, ReleaseOutcome } from './model-protection.js';
import type { PlatformApi } from './ports.js';

/**
 * One enclave asking the key broker for a resource over the real Trustee KBS
 * protocol: /auth, /attest with a quote from the simulated platform that binds
 * a fresh TEE key, then the JWE-encrypted resource. A refusal is an outcome,
 * not an error; anything else (unreachable broker, bad reply) throws.
 */
export async function releaseOverKbs(kbsUrl: string, platform: PlatformApi, path: string, build: EnclaveBuild): Promise<ReleaseOutcome> {
  const client = new KbsClient({ url: kbsUrl, evidence: { tee: 'sgx', quote: (reportData) => platform.quote(build, reportData) } });
  try {
    const value = await client.getResource(path);
    const status = client.claims?.status;
    return status ? { released: true, value, tcbStatus: status } : { released: true, value };
  } catch (err) {
    if (err instanceof KbsClientError && err.code === 'KBS_CLIENT_REFUSED') {
      const status = client.claims?.status;
      // The client prefixes the broker's own explanation with the request it refused; keep the explanation.
      const reason = err.message.replace(/^the key broker refused [^(]*\([^)]*\): /, '');
      const out: ReleaseOutcome = { released: false, code: err.serverCode ?? err.code, reason };
      if (status) out.tcbStatus = status;
      return out;
    }
    throw err;
  }
}
