import { celEnv, CelScalar, isCelError, listType, mapType, parse, plan, type CelEnv } from '@bufbuild/cel';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { AttestationClaims } from './claims.js';
import { parsePolicyDocument, type PolicyDocument } from './document.js';
import { PolicyError } from './errors.js';

/**
 * CEL variables a policy can use. Types are fixed so that, for example,
 * `isvSvn >= 2` compares integers. `time` is the decision time (timestamp).
 */
const VARIABLES = {
  tee: CelScalar.STRING,
  status: CelScalar.STRING,
  advisoryIds: listType(CelScalar.STRING),
  fmspc: CelScalar.STRING,
  mrenclave: CelScalar.STRING,
  mrsigner: CelScalar.STRING,
  isvProdId: CelScalar.INT,
  isvSvn: CelScalar.INT,
  debug: CelScalar.BOOL,
  td: mapType(CelScalar.STRING, CelScalar.STRING),
  time: CelScalar.DYN,
  resource: CelScalar.STRING,
} as const;

export const POLICY_VARIABLES: readonly string[] = Object.keys(VARIABLES);

/** The broker's default accepted statuses (MarbleRun's default, and the issue's). */
export const DEFAULT_ACCEPTED_STATUSES: readonly string[] = ['UpToDate', 'SWHardeningNeeded'];

export type PolicyDecision =
  | { allowed: true; rulesEvaluated: number }
  | { allowed: false; rule: string; expression: string; reason: string };

export interface PolicyContext {
  now: Date;
  resource: string;
}

type Evaluator = (ctx: Record<string, unknown>) => unknown;

interface CompiledRule {
  name: string;
  expr: string;
  run: Evaluator;
}

let sharedEnv: CelEnv | undefined;
function env(): CelEnv {
  sharedEnv ??= celEnv({ variables: VARIABLES }) as unknown as CelEnv;
  return sharedEnv;
}

/**
 * A compiled policy: the baseline rules (no debug, accepted statuses) then the
 * document's rules, all of which must evaluate to `true`. Anything else (false,
 * a non-boolean, an evaluation error) denies and names the rule: fail closed.
 */
export class CompiledPolicy {
  readonly rules: readonly CompiledRule[];

  constructor(readonly document: PolicyDocument, defaultAcceptedStatuses: readonly string[], where: string) {
    const statuses = document.acceptedStatuses ?? defaultAcceptedStatuses;
    const baseline: { name: string; expr: string }[] = [];
    if (!document.allowDebug) baseline.push({ name: 'no-debug', expr: '!debug' });
    baseline.push({ name: 'accepted-status', expr: `status in ${JSON.stringify(statuses)}` });
    this.rules = [...baseline, ...document.rules].map((r) => ({ ...r, run: compileExpression(r.expr, `${where}, rule "${r.name}"`) }));
  }

  evaluate(claims: AttestationClaims, context: PolicyContext): PolicyDecision {
    const bindings = toBindings(claims, context);
    for (const rule of this.rules) {
      let result: unknown;
      try {
        result = rule.run(bindings);
      } catch (err) {
        return { allowed: false, rule: rule.name, expression: rule.expr, reason: `evaluation error: ${(err as Error).message}` };
      }
      if (isCelError(result)) return { allowed: false, rule: rule.name, expression: rule.expr, reason: `evaluation error: ${result.message}` };
      if (result !== true) {
        return { allowed: false, rule: rule.name, expression: rule.expr, reason: typeof result === 'boolean' ? 'evaluated to false' : `evaluated to a non-boolean (${typeof result})` };
      }
    }
    return { allowed: true, rulesEvaluated: this.rules.length };
  }
}

/** Parses, validates and compiles policy text (throws PolicyError saying what and where). */
export function compilePolicy(text: string, where: string, defaultAcceptedStatuses: readonly string[] = DEFAULT_ACCEPTED_STATUSES): CompiledPolicy {
  return new CompiledPolicy(parsePolicyDocument(text, where), defaultAcceptedStatuses, where);
}

/** The policy used when neither the resource nor the broker has a stored one. */
export function builtinDefaultPolicy(acceptedStatuses: readonly string[] = DEFAULT_ACCEPTED_STATUSES): CompiledPolicy {
  return new CompiledPolicy({ version: 1, allowDebug: false, rules: [] }, acceptedStatuses, 'built-in default policy');
}

function compileExpression(expr: string, where: string): Evaluator {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(expr);
  } catch (err) {
    throw new PolicyError('POLICY_EXPRESSION_INVALID', `${where}: "${expr}" is not valid CEL: ${(err as Error).message}`, {
      cause: err,
      hint: 'check the expression syntax (CEL, as in Kubernetes ValidatingAdmissionPolicy)',
    });
  }
  const unknown = [...freeIdentifiers(parsed.expr)].filter((name) => !(name in VARIABLES));
  if (unknown.length > 0) {
    throw new PolicyError('POLICY_EXPRESSION_INVALID', `${where}: "${expr}" uses unknown variable(s) ${unknown.join(', ')}`, {
      hint: `policies can use ${POLICY_VARIABLES.join(', ')}`,
    });
  }
  const run = plan(env(), parsed) as unknown as Evaluator;
  return run;
}

/* Minimal structural view of the CEL AST (cel.expr.Expr) for the identifier walk. */
interface AstExpr {
  exprKind: { case: string | undefined; value?: unknown };
}

/** Identifiers an expression reads that are not bound by a comprehension (macro) inside it. */
function freeIdentifiers(root: AstExpr): Set<string> {
  const out = new Set<string>();
  const walk = (e: AstExpr | undefined, bound: ReadonlySet<string>): void => {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'identExpr': {
        const name = (k.value as { name: string }).name;
        if (!bound.has(name)) out.add(name);
        return;
      }
      case 'selectExpr':
        walk((k.value as { operand?: AstExpr }).operand, bound);
        return;
      case 'callExpr': {
        const v = k.value as { target?: AstExpr; args: AstExpr[] };
        walk(v.target, bound);
        for (const a of v.args) walk(a, bound);
        return;
      }
      case 'listExpr':
        for (const el of (k.value as { elements: AstExpr[] }).elements) walk(el, bound);
        return;
      case 'structExpr':
        for (const entry of (k.value as { entries: { keyKind: { case: string | undefined; value?: unknown }; value?: AstExpr }[] }).entries) {
          if (entry.keyKind.case === 'mapKey') walk(entry.keyKind.value as AstExpr, bound);
          walk(entry.value, bound);
        }
        return;
      case 'comprehensionExpr': {
        const c = k.value as { iterVar: string; iterVar2?: string; accuVar: string; iterRange?: AstExpr; accuInit?: AstExpr; loopCondition?: AstExpr; loopStep?: AstExpr; result?: AstExpr };
        walk(c.iterRange, bound);
        walk(c.accuInit, bound);
        const inner = new Set(bound);
        inner.add(c.iterVar);
        if (c.iterVar2) inner.add(c.iterVar2);
        inner.add(c.accuVar);
        walk(c.loopCondition, inner);
        walk(c.loopStep, inner);
        walk(c.result, inner);
        return;
      }
      default:
        return;
    }
  };
  walk(root, new Set());
  return out;
}

function toBindings(claims: AttestationClaims, context: PolicyContext): Record<string, unknown> {
  return {
    tee: claims.tee,
    status: claims.status,
    advisoryIds: claims.advisoryIds,
    fmspc: claims.fmspc,
    mrenclave: claims.mrenclave,
    mrsigner: claims.mrsigner,
    isvProdId: BigInt(claims.isvProdId),
    isvSvn: BigInt(claims.isvSvn),
    debug: claims.debug,
    td: new Map(Object.entries(claims.td)),
    time: timestampFromDate(context.now),
    resource: context.resource,
  };
}
