import { KubeteeError } from '../common/errors.js';

export type DemoErrorCode = 'DEMO_STACK_UNREACHABLE' | 'DEMO_REQUEST_FAILED' | 'DEMO_ADMIN_TOKEN_MISSING' | 'DEMO_FAILED';

export class DemoError extends KubeteeError<DemoErrorCode> {
  constructor(code: DemoErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(code, message, options);
  }
}
