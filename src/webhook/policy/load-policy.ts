import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { PolicyError } from '../errors.js';
import { POLICY_API_VERSION, POLICY_KIND, crossFieldProblems, policySchema, type AdmissionPolicy } from './schema.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(document)'}: ${i.message}`);
}

/**
 * Validates an already-parsed policy object: defaults filled in, every
 * problem collected into one POLICY_INVALID error, result deep-frozen.
 */
export function validatePolicy(doc: unknown, source = 'policy'): AdmissionPolicy {
  const result = policySchema.safeParse(doc);
  const problems = [...(result.success ? [] : formatIssues(result.error.issues)), ...crossFieldProblems(doc)];
  if (!result.success || problems.length > 0) {
    throw new PolicyError('POLICY_INVALID', `${source} is not a valid ${POLICY_KIND} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`, {
      problems,
      hint: `fix the listed fields; run "kubetee policy check FILE" to re-check (schema: docs/admission.md)`,
    });
  }
  const data = result.data!;
  // The injected class defaults to the first sandbox class listed.
  const sandboxed = { ...data.sandboxed, defaultRuntimeClass: data.sandboxed.defaultRuntimeClass ?? data.sandboxRuntimeClasses[0]!.name };
  return deepFreeze({ ...data, sandboxed });
}

/** Parses policy text (YAML or JSON, exactly one document) and validates it. */
export function parsePolicy(text: string, source = 'policy'): AdmissionPolicy {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) {
    throw new PolicyError('POLICY_PARSE', `${source} is empty`, { hint: `start from the example in docs/admission.md (apiVersion: ${POLICY_API_VERSION})` });
  }
  if (docs.length !== 1) {
    throw new PolicyError('POLICY_PARSE', `${source} holds ${docs.length} YAML documents; expected exactly one`, { hint: 'keep one policy document per file' });
  }
  const doc = docs[0]!;
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => e.message.split('\n')[0] ?? e.message);
    throw new PolicyError('POLICY_PARSE', `${source} is not valid YAML/JSON: ${problems.join('; ')}`, { problems, hint: 'fix the syntax at the position shown' });
  }
  const value: unknown = doc.toJS({ maxAliasCount: 50 });
  if (value === null || value === undefined) {
    throw new PolicyError('POLICY_PARSE', `${source} is empty`, { hint: `start from the example in docs/admission.md (apiVersion: ${POLICY_API_VERSION})` });
  }
  return validatePolicy(value, source);
}

/** Reads and validates a policy file (the only I/O entry point of this module). */
export function loadPolicyFile(path: string): AdmissionPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyError('POLICY_UNREADABLE', `cannot read the policy file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'check the path passed to --policy',
    });
  }
  return parsePolicy(text, path);
}
