/**
 * One error base for the whole project. Every error a user can meet carries a
 * stable `code` (callers and tests branch on it, never on message text), a
 * message that says what was wrong and where, and optionally a `hint` that says
 * what to do about it. Components subclass it with their own code unions
 * (for example `AttestationError`), so `switch (err.code)` narrows.
 */
export class KubeteeError<C extends string = string> extends Error {
  readonly code: C;
  readonly hint: string | undefined;
  /** Process exit status the CLI uses when this error ends a command. */
  readonly exitCode: number;

  constructor(code: C, message: string, options: { cause?: unknown; hint?: string; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }

  toJSON(): { code: C; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/**
 * Codes every component may raise for what the user handed in: a bad command
 * line (USAGE, also commander's own parse errors), a file that cannot be read,
 * a file in the wrong format, an inconsistent configuration.
 */
export const USAGE_ERROR_CODES = ['USAGE', 'FILE_UNREADABLE', 'INPUT_INVALID', 'CONFIG_INVALID'] as const;
export type UsageErrorCode = (typeof USAGE_ERROR_CODES)[number];

/** Bad command line or unreadable input: the CLI exits with status 2. */
export class UsageError extends KubeteeError<UsageErrorCode> {
  constructor(code: UsageErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, { ...options, exitCode: 2 });
  }
}

export function isKubeteeError(err: unknown): err is KubeteeError {
  return err instanceof KubeteeError;
}

/** A short, safe description of an unknown thrown value (no stack). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
