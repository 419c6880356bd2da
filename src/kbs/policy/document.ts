import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TCB_STATUSES } from '../../attestation/types.js';
import { PolicyError } from './errors.js';

/**
 * A key-release policy document (YAML or JSON). Every rule must hold for a
 * release; the two baseline rules (no debug enclaves, accepted TCB statuses)
 * are always evaluated first unless the document relaxes them explicitly.
 *
 * ```yaml
 * acceptedStatuses: [UpToDate, SWHardeningNeeded]   # default: the broker's --accept-status list
 * allowDebug: false                                  # default false; true only for development
 * rules:
 *   - name: expected enclave
 *     expr: mrenclave == "3e7830a3..." && isvSvn >= 2
 *   - '!("INTEL-SA-00615" in advisoryIds)'           # a bare expression is named after itself
 * ```
 */
export interface PolicyDocument {
  version: 1;
  acceptedStatuses?: string[];
  allowDebug: boolean;
  rules: PolicyRule[];
}

export interface PolicyRule {
  name: string;
  expr: string;
}

export { TCB_STATUSES };

const MAX_RULES = 64;
const MAX_EXPR_CHARS = 4096;

const RuleSchema = z.union([
  z.string().min(1).max(MAX_EXPR_CHARS),
  z.object({ name: z.string().min(1).max(200).optional(), expr: z.string().min(1).max(MAX_EXPR_CHARS) }).strict(),
]);

const DocumentSchema = z
  .object({
    version: z.literal(1).default(1),
    acceptedStatuses: z.array(z.enum(TCB_STATUSES)).min(1).optional(),
    allowDebug: z.boolean().default(false),
    rules: z.array(RuleSchema).max(MAX_RULES).default([]),
  })
  .strict();

/** Parses and validates policy text; `where` names its origin in errors (a file or a resource). */
export function parsePolicyDocument(text: string, where: string): PolicyDocument {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new PolicyError('POLICY_DOCUMENT_INVALID', `${where}: not valid YAML/JSON (${(err as Error).message.split('\n')[0]})`, {
      cause: err,
      hint: 'a policy document is a YAML or JSON object with optional acceptedStatuses, allowDebug and rules (see docs/key-broker.md)',
    });
  }
  if (raw === null || raw === undefined) raw = {};
  const r = DocumentSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');
    throw new PolicyError('POLICY_DOCUMENT_INVALID', `${where}: ${issues}`, {
      hint: `allowed keys are version (1), acceptedStatuses (${TCB_STATUSES.join(', ')}), allowDebug and rules (a list of CEL expressions or {name, expr})`,
    });
  }
  const d = r.data;
  const rules = d.rules.map((rule) => (typeof rule === 'string' ? { name: rule, expr: rule } : { name: rule.name ?? rule.expr, expr: rule.expr }));
  const doc: PolicyDocument = { version: 1, allowDebug: d.allowDebug, rules };
  if (d.acceptedStatuses) doc.acceptedStatuses = [...d.acceptedStatuses];
  return doc;
}
