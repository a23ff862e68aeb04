/**
 * Typed errors carrying a message meant for the user. The CLI base command prints `message` (and `hint`)
 * as one line and exits with the code of `kind`; anything that is not a SlipwayError is a bug.
 */
export type ErrorKind =
  | 'usage' // bad flag, argument or reference
  | 'config' // bad dappfile
  | 'auth' // credentials missing or refused
  | 'not-found' // image, tag, blob or file that does not exist
  | 'network' // host unreachable, TLS failure, timeouts
  | 'registry' // the registry refused or answered nonsense
  | 'integrity' // digest/size mismatch, corrupt store or archive, hostile tar
  | 'build' // a stage's commands failed
  | 'environment' // something missing on the host (sandbox runner, user namespaces, git)
  | 'conflict' // lock held, concurrent change
  | 'internal'

export const EXIT_CODES: Record<ErrorKind, number> = {
  internal: 1,
  usage: 2,
  config: 3,
  auth: 4,
  'not-found': 5,
  network: 6,
  registry: 7,
  integrity: 8,
  build: 9,
  environment: 10,
  conflict: 11,
}

export interface SlipwayErrorOptions {
  hint?: string
  cause?: unknown
}

export class SlipwayError extends Error {
  readonly kind: ErrorKind
  readonly hint?: string

  constructor(kind: ErrorKind, message: string, options: SlipwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'SlipwayError'
    this.kind = kind
    this.hint = options.hint
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind]
  }

  /** The one line shown to the user. */
  get userLine(): string {
    return this.hint ? `${this.message}: ${this.hint}` : this.message
  }
}

export function isSlipwayError(e: unknown): e is SlipwayError {
  return e instanceof SlipwayError
}
