import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LaunchError } from './errors.js';
import { parseLaunchSpec, type LaunchSpec } from './spec.js';

/** The webhook (or the pod author) puts the spec in one of these. */
export const SPEC_ENV = 'KUBETEE_LAUNCH_SPEC';
export const SPEC_FILE_ENV = 'KUBETEE_LAUNCH_SPEC_FILE';
const MAX_SPEC_BYTES = 256 * 1024;

export interface SpecSourceOptions {
  /** `--spec FILE`; wins over the environment. */
  file?: string | undefined;
  /** The launcher's environment (where `KUBETEE_LAUNCH_SPEC[_FILE]` are read). */
  env: NodeJS.ProcessEnv;
  /**
   * `--spec-sha256`: the spec must be exactly these bytes. Inside Gramine the
   * launcher's argv is part of the measured manifest while the environment and
   * most files come from the untrusted host, so this pin is what ties the spec
   * (broker, CA, where secrets go, what runs) to MRENCLAVE.
   */
  pinnedSha256?: string | undefined;
}

export interface LoadedSpec {
  spec: LaunchSpec;
  sha256: string;
  origin: string;
}

/** Reads the spec from `--spec`, `$KUBETEE_LAUNCH_SPEC` or `$KUBETEE_LAUNCH_SPEC_FILE`, checks the pin, parses it. */
export async function loadLaunchSpec(options: SpecSourceOptions): Promise<LoadedSpec> {
  const { bytes, origin } = await readSource(options);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (options.pinnedSha256 !== undefined) {
    const pin = options.pinnedSha256.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(pin)) throw new LaunchError('LAUNCH_SPEC_INVALID', `--spec-sha256 "${options.pinnedSha256}" is not 64 hex digits`);
    if (!timingSafeEqual(Buffer.from(pin, 'hex'), Buffer.from(sha256, 'hex'))) {
      throw new LaunchError('LAUNCH_SPEC_INVALID', `the spec from ${origin} has SHA-256 ${sha256}, not the pinned ${pin}`, {
        hint: 'the spec was changed after the enclave was built; deliver the exact spec `kubetee gramine prepare` pinned, or prepare and sign again',
      });
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new LaunchError('LAUNCH_SPEC_INVALID', `the spec from ${origin} is not UTF-8 text`, { cause: err });
  }
  return { spec: parseLaunchSpec(text, origin), sha256, origin };
}

async function readSource(options: SpecSourceOptions): Promise<{ bytes: Buffer; origin: string }> {
  const inline = options.env[SPEC_ENV];
  const envFile = options.env[SPEC_FILE_ENV];
  if (options.file === undefined && inline !== undefined && envFile !== undefined) {
    throw new LaunchError('LAUNCH_SPEC_INVALID', `both $${SPEC_ENV} and $${SPEC_FILE_ENV} are set`, { hint: 'set one of them' });
  }
  const file = options.file ?? (inline === undefined ? envFile : undefined);
  if (file !== undefined) {
    const origin = options.file !== undefined ? `--spec ${file}` : `$${SPEC_FILE_ENV} (${file})`;
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new LaunchError('LAUNCH_SPEC_INVALID', `cannot read the launch spec ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err, hint: 'check the path' });
    }
    if (bytes.length > MAX_SPEC_BYTES) throw new LaunchError('LAUNCH_SPEC_INVALID', `${origin} is larger than ${MAX_SPEC_BYTES} bytes`);
    return { bytes, origin };
  }
  if (inline !== undefined) {
    const bytes = Buffer.from(inline, 'utf8');
    if (bytes.length > MAX_SPEC_BYTES) throw new LaunchError('LAUNCH_SPEC_INVALID', `$${SPEC_ENV} is larger than ${MAX_SPEC_BYTES} bytes`);
    return { bytes, origin: `$${SPEC_ENV}` };
  }
  throw new LaunchError('LAUNCH_SPEC_INVALID', 'no launch spec given', { hint: `pass --spec FILE, or set $${SPEC_ENV} (the document) or $${SPEC_FILE_ENV} (a path)` });
}
