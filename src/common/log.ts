import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log line: key material, tokens, quotes.
 * Configured once here so every component's logger inherits them.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  'secret',
  'value',
  'key',
  'masterKey',
  'quote',
  '*.token',
  '*.secret',
  '*.value',
  '*.masterKey',
  '*.quote',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  destination?: DestinationStream;
}

/** Creates the process logger (JSON lines on stderr by default). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: { name: options.name ?? 'kubetee' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(opts, options.destination ?? pino.destination(2));
}

/** A logger that drops everything; for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
