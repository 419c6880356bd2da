import type { Finding } from './checks.js';

const MARK = { ok: 'ok', warning: 'WARN', error: 'ERROR' } as const;

/** Human report: one line per finding grouped by scope, a fix line under each problem, a verdict. */
export function formatReport(findings: readonly Finding[], header: string): string {
  const width = Math.min(40, Math.max(...findings.map((f) => f.scope.length), 10));
  const lines = [header, ''];
  for (const f of findings) {
    lines.push(`${f.scope.padEnd(width)}  ${MARK[f.severity].padEnd(5)}  ${f.message}`);
    if (f.severity !== 'ok' && f.hint) lines.push(`${' '.repeat(width + 9)}fix: ${f.hint}`);
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  lines.push('');
  lines.push(
    errors
      ? `${errors} problem(s) block confidential workloads${warnings ? `, ${warnings} warning(s)` : ''}`
      : `no blocking problems${warnings ? ` (${warnings} warning(s))` : ''}: confidential workloads can run`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatJson(findings: readonly Finding[], cluster: { server: string; context: string }): string {
  return `${JSON.stringify({ ok: !findings.some((f) => f.severity === 'error'), cluster, findings }, null, 2)}\n`;
}
