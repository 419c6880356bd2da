import { LaunchError } from './errors.js';
import { writeEphemeralGramineKey, writeGramineKey } from './gramine/keys.js';
import { SecretFiles } from './place-files.js';
import { formatForTarget } from './secret-format.js';
import { targetOf, type LaunchSpec } from './spec.js';
import type { IssuedIdentity } from './identity.js';

export interface Placement {
  /** Environment variables for the application (secret values: never log them). */
  env: Record<string, string>;
  files: SecretFiles;
  /** What was placed, by name only, for the launch log. */
  summary: string[];
}

/**
 * Puts every fetched value where the spec says, in an order that leaves
 * nothing behind on failure: all values are converted first (a misfit aborts
 * with nothing written); Gramine keys (enclave memory) next; files last, each
 * atomic, and all removed again if one fails. `values` are zeroed here once
 * placed (env strings cannot be wiped: JavaScript strings are immutable).
 */
export async function placeSecrets(spec: LaunchSpec, values: Uint8Array[], identity?: IssuedIdentity): Promise<Placement> {
  const files = new SecretFiles(spec.files.dir);
  const env: Record<string, string> = {};
  const summary: string[] = [];
  try {
    const formatted = spec.secrets.map((s, i) => formatForTarget(values[i]!, targetOf(s), `secret ${s.resource} (secrets.${i})`));
    if (spec.files.ephemeralKey !== undefined && (identity !== undefined || spec.secrets.some((s) => s.file !== undefined))) {
      await writeEphemeralGramineKey(spec.gramine.root, spec.files.ephemeralKey);
      summary.push(`gramine key ${spec.files.ephemeralKey} (ephemeral, for ${spec.files.dir})`);
    }
    for (const [i, s] of spec.secrets.entries()) {
      const t = targetOf(s);
      if (t.kind !== 'gramineKey') continue;
      await writeGramineKey(spec.gramine.root, t.name, formatted[i] as Uint8Array);
      summary.push(`gramine key ${t.name} <- ${s.resource}`);
    }
    for (const [i, s] of spec.secrets.entries()) {
      const t = targetOf(s);
      if (t.kind === 'file') {
        const path = await files.write(t.path, formatted[i] as Uint8Array);
        summary.push(`file ${path} <- ${s.resource}`);
      } else if (t.kind === 'env') {
        env[t.name] = formatted[i] as string;
        summary.push(`env ${t.name} <- ${s.resource}`);
      }
    }
    if (spec.identity && identity) {
      await files.write(spec.identity.keyFile, identity.keyPem);
      await files.write(spec.identity.certFile, new Uint8Array(Buffer.from(identity.certPem)));
      await files.write(spec.identity.bundleFile, new Uint8Array(Buffer.from(identity.bundlePem)));
      summary.push(`workload certificate ${identity.spiffeId}: ${spec.identity.keyFile}, ${spec.identity.certFile}, ${spec.identity.bundleFile}`);
    }
    for (const f of formatted) if (f instanceof Uint8Array) f.fill(0);
    return { env, files, summary };
  } catch (err) {
    await files.removeAll();
    if (err instanceof LaunchError) throw err;
    throw new LaunchError('LAUNCH_PLACEMENT_FAILED', `placing the secrets failed: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const v of values) v.fill(0);
    identity?.keyPem.fill(0);
  }
}
