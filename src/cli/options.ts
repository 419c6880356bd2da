import { InvalidArgumentError } from 'commander';

/** Commander parser for a TCP port (1-65535; 0 means "pick a free one"). */
export function parsePort(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a port number (expected 0-65535).`);
  const n = Number(value);
  if (n > 65535) throw new InvalidArgumentError(`${n} is out of range (expected 0-65535).`);
  return n;
}

/** Commander parser for a positive integer. */
export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError(`"${value}" is not a positive integer.`);
  return Number(value);
}

/** Commander parser for an ISO-8601 instant. */
export function parseInstant(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`"${value}" is not an ISO-8601 date/time (for example 2025-06-20T00:00:00Z).`);
  return d;
}
