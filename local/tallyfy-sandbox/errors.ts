/** Errors of the sandbox's programmatic door; `code` is stable, messages hold no secrets. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  readonly code: 'SANDBOX_NOT_FOUND' | 'SANDBOX_CONFLICT' | 'SANDBOX_INVALID';

  constructor(code: SandboxError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
