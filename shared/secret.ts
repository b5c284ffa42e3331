import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * Holds a secret value (token, password, client secret, refresh token) so that it cannot
 * reach a log line, an error message or JSON by accident: `String(secret)`, `JSON.stringify`,
 * `util.inspect` and template literals all print `[redacted]`. Only {@link Secret.reveal}
 * returns the value, at the one place that must send it (a header, a form body, a secret write).
 *
 * @example
 * const password = new Secret(process.argv[2] ?? '');
 * logger.info('granting', { password }); // {"password":"[redacted]"}
 * body.set('password', password.reveal());
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret value itself. Call it only where the value is sent or stored. */
  reveal(): string {
    return this.#value;
  }

  /** Compares without revealing either value. */
  equals(other: Secret | undefined): boolean {
    return other !== undefined && other.#value === this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Wraps a string in a {@link Secret}; `undefined` stays `undefined`. */
export function secret(value: string): Secret;
export function secret(value: string | undefined): Secret | undefined;
export function secret(value: string | undefined): Secret | undefined {
  return value === undefined ? undefined : new Secret(value);
}
