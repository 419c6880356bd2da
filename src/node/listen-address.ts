import { NodeError } from './errors.js';

/** Parses "host:port" / ":port" / "port" (port 0 = any free port). */
export function parseListenAddress(value: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new NodeError('AGENT_OPTIONS_INVALID', `"${value}" is not a listen address`, { hint: 'use host:port, :port or port, e.g. 0.0.0.0:9756', exitCode: 2 });
  }
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  return { host, port };
}
