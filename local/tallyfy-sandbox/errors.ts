/** Every code of {@link SandboxError} (docs/errors.md). */
export const SANDBOX_ERROR_CODES = [
  'SANDBOX_NOT_FOUND',
  'SANDBOX_CONFLICT',
  'SANDBOX_INVALID',
] as const;

/** Errors of the sandbox's programmatic door; `code` is stable, messages hold no secrets. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  readonly code: (typeof SANDBOX_ERROR_CODES)[number];

  constructor(code: SandboxError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
