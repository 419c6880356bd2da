import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { LaunchError } from './errors.js';

/**
 * The launch spec: what `kubetee launch` fetches from the key broker, where it
 * puts each secret inside the enclave, and what it runs afterwards. A YAML or
 * JSON document (docs/launcher.md, "The launch spec"):
 *
 * ```yaml
 * apiVersion: kubetee.io/v1alpha1
 * kind: LaunchSpec
 * broker: { url: https://kbs.kubetee-system.svc:8080, caFile: /etc/kubetee/kbs-ca.pem }
 * attestation: { evidence: gramine }
 * secrets:
 *   - { resource: models/key/llama, file: model.key }      # <files.dir>/model.key, mode 0400
 *   - { resource: apps/db/password, env: DB_PASSWORD }
 *   - { resource: models/key/fs, gramineKey: model_fs }     # /dev/attestation/keys/model_fs
 * exec: { command: [/usr/bin/python3, /app/serve.py] }
 * ```
 *
 * Unknown keys are errors, so fields added later (the pod identity for
 * pod-bound policies, workload certificates) cannot be silently ignored by an
 * older launcher.
 */
export const LAUNCH_SPEC_API_VERSION = 'kubetee.io/v1alpha1';

// The broker's resource path rule (Trustee: each segment starts with [A-Za-z0-9_-], then also '.').
const SEGMENT = '[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}';
const RESOURCE_PATH = new RegExp(`^${SEGMENT}/${SEGMENT}/${SEGMENT}$`);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
// Gramine key names are plain identifiers; `_sgx_*` are Gramine's read-only sealing keys.
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const FILE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const HEX32 = /^[0-9a-fA-F]{64}$/;

const relativeFile = z
  .string()
  .max(1024)
  .refine((p) => p.split('/').every((s) => FILE_SEGMENT.test(s)), {
    message: 'must be a relative path under files.dir: segments of [A-Za-z0-9._-] that do not start with "." (no "..", no leading "/")',
  });

const absolutePath = z
  .string()
  .max(1024)
  .refine((p) => p.startsWith('/') && !p.split('/').includes('..'), { message: 'must be an absolute path without ".."' });

const SecretSchema = z
  .object({
    resource: z.string().regex(RESOURCE_PATH, 'must be repo/type/tag (segments of [A-Za-z0-9._-], not starting with ".")'),
    version: z.number().int().positive().optional(),
    file: relativeFile.optional(),
    env: z.string().regex(ENV_NAME, 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)').optional(),
    encoding: z.enum(['utf8', 'base64', 'hex']).optional(),
    gramineKey: z
      .string()
      .regex(KEY_NAME, 'must be a Gramine key name ([A-Za-z0-9_.-], up to 64 characters)')
      .refine((n) => !n.startsWith('_sgx_'), { message: '_sgx_* keys are Gramine\'s read-only sealing keys' })
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const targets = [s.file, s.env, s.gramineKey].filter((t) => t !== undefined).length;
    if (targets !== 1) ctx.addIssue({ code: 'custom', message: 'needs exactly one of file, env or gramineKey' });
    if (s.encoding !== undefined && s.env === undefined) ctx.addIssue({ code: 'custom', path: ['encoding'], message: 'applies only to env placements' });
  });

const SimSchema = z
  .object({
    state: z.string().min(1),
    mrenclave: z.string().regex(HEX32, 'must be 64 hex digits').optional(),
    mrsigner: z.string().regex(HEX32, 'must be 64 hex digits').optional(),
    isvProdId: z.number().int().min(0).max(65535).optional(),
    isvSvn: z.number().int().min(0).max(65535).optional(),
    debug: z.boolean().optional(),
  })
  .strict();

const SpecSchema = z
  .object({
    apiVersion: z.literal(LAUNCH_SPEC_API_VERSION),
    kind: z.literal('LaunchSpec'),
    broker: z
      .object({
        url: z.string().refine((u) => /^https?:\/\/[^/]/.test(u) && URL.canParse(u), { message: 'must be an http(s) URL' }),
        /** PEM CA bundle inline, or a file with it. */
        ca: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
        caFile: z.string().min(1).optional(),
        /** Plain HTTP with Gramine evidence lets the network feed the enclave forged secrets: explicit opt-in only. */
        allowPlainHttp: z.boolean().default(false),
      })
      .strict()
      .refine((b) => !(b.ca !== undefined && b.caFile !== undefined), { message: 'give ca or caFile, not both' }),
    attestation: z.discriminatedUnion('evidence', [
      z.object({ evidence: z.literal('gramine') }).strict(),
      z.object({ evidence: z.literal('sim'), sim: SimSchema }).strict(),
    ]),
    gramine: z.object({ root: absolutePath.default('/dev/attestation') }).strict().default({ root: '/dev/attestation' }),
    deadlineSeconds: z.number().int().min(1).max(3600).default(120),
    retry: z
      .object({
        initialDelayMs: z.number().int().min(10).max(60_000).default(250),
        maxDelayMs: z.number().int().min(10).max(300_000).default(5_000),
      })
      .strict()
      .default({ initialDelayMs: 250, maxDelayMs: 5_000 }),
    files: z
      .object({
        dir: absolutePath.default('/run/kubetee/secrets'),
        /** A Gramine encrypted-mount key the launcher sets to 16 fresh random bytes before writing files (see docs/launcher.md). */
        ephemeralKey: z.string().regex(KEY_NAME).refine((n) => !n.startsWith('_sgx_'), { message: '_sgx_* keys are read-only' }).optional(),
        /** Remove the placed files when the application exits (spawn handover). */
        removeOnExit: z.boolean().default(true),
      })
      .strict()
      .default({ dir: '/run/kubetee/secrets', removeOnExit: true }),
    secrets: z.array(SecretSchema).max(64).default([]),
    /** An attested workload certificate (X.509-SVID) for a key made here, written under files.dir. */
    identity: z
      .object({
        certFile: relativeFile.default('svid.pem'),
        keyFile: relativeFile.default('svid.key'),
        bundleFile: relativeFile.default('bundle.pem'),
      })
      .strict()
      .optional(),
    exec: z
      .object({
        command: z.array(z.string().min(1).max(4096)).min(1).max(256).optional(),
        handover: z.enum(['spawn', 'in-process']).default('spawn'),
        env: z.record(z.string().regex(ENV_NAME), z.string().max(32_768)).optional(),
        workingDir: absolutePath.optional(),
      })
      .strict()
      .default({ handover: 'spawn' }),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const seen = new Map<string, number>();
    spec.secrets.forEach((s, i) => {
      const target = s.file !== undefined ? `file ${s.file}` : s.env !== undefined ? `env ${s.env}` : `gramineKey ${s.gramineKey}`;
      const prev = seen.get(target);
      if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['secrets', i], message: `${target} is already the target of secrets.${prev}` });
      seen.set(target, i);
      if (s.env !== undefined && spec.exec.env?.[s.env] !== undefined) ctx.addIssue({ code: 'custom', path: ['secrets', i, 'env'], message: `${s.env} is also set in exec.env` });
      if (s.gramineKey !== undefined && s.gramineKey === spec.files.ephemeralKey) ctx.addIssue({ code: 'custom', path: ['secrets', i, 'gramineKey'], message: 'is files.ephemeralKey' });
    });
    if (spec.identity) {
      for (const [k, f] of Object.entries(spec.identity)) {
        const prev = seen.get(`file ${f}`);
        if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['identity', k], message: `file ${f} is already the target of secrets.${prev}` });
        seen.set(`file ${f}`, -1);
      }
    }
    if (spec.attestation.evidence === 'gramine' && spec.broker.url.startsWith('http:') && !spec.broker.allowPlainHttp) {
      ctx.addIssue({
        code: 'custom',
        path: ['broker', 'url'],
        message: 'is plain HTTP: anyone on the network could pose as the broker and hand the enclave secrets of their choosing; use https with ca/caFile, or set broker.allowPlainHttp: true',
      });
    }
  });

export type LaunchSpec = z.infer<typeof SpecSchema>;
export type SecretPlacement = LaunchSpec['secrets'][number];

/** Where a secret goes, as one tagged value (the schema guarantees exactly one target). */
export type PlacementTarget = { kind: 'file'; path: string } | { kind: 'env'; name: string; encoding: 'utf8' | 'base64' | 'hex' } | { kind: 'gramineKey'; name: string };

export function targetOf(s: SecretPlacement): PlacementTarget {
  if (s.file !== undefined) return { kind: 'file', path: s.file };
  if (s.env !== undefined) return { kind: 'env', name: s.env, encoding: s.encoding ?? 'utf8' };
  return { kind: 'gramineKey', name: s.gramineKey! };
}

/** Parses and validates spec text (YAML or JSON); `where` names its origin in errors. */
export function parseLaunchSpec(text: string, where: string): LaunchSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new LaunchError('LAUNCH_SPEC_INVALID', `${where}: not valid YAML/JSON (${(err as Error).message.split('\n')[0]})`, {
      cause: err,
      hint: 'a launch spec is a YAML or JSON object with apiVersion kubetee.io/v1alpha1 and kind LaunchSpec (see docs/launcher.md)',
    });
  }
  const r = SpecSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');
    throw new LaunchError('LAUNCH_SPEC_INVALID', `${where}: ${issues}`, { hint: 'see docs/launcher.md, "The launch spec", for every field' });
  }
  return r.data;
}
