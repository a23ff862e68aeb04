import {type ErrorKind, SlipwayError} from '../errors.js'
import {redactSecrets} from '../redact.js'

/**
 * Registry answers become errors here and nowhere else (like ggcr's transport.CheckError): the
 * distribution-spec error codes are kept, `temporary` drives retries, and the message is one line a
 * user can act on.
 */
export class RegistryError extends SlipwayError {
  readonly status: number
  readonly codes: string[]
  readonly temporary: boolean

  constructor(kind: ErrorKind, message: string, info: {status: number; codes: string[]; temporary: boolean; hint?: string}) {
    super(kind, message, info.hint === undefined ? {} : {hint: info.hint})
    this.name = 'RegistryError'
    this.status = info.status
    this.codes = info.codes
    this.temporary = info.temporary
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError
}

/** What the failed request was for, to word the message. */
export interface RequestContext {
  host: string
  method: string
  /** e.g. `manifest app:1.0`, `blob sha256:… in app`, `tags of app`. */
  what: string
  /** Where the credentials that were sent (or exchanged for the token sent) came from; none were when absent. */
  credential?: {source: string; hint: string}
  /** What to do when none were found (e.g. that explicit credentials are for another registry). */
  missingCredentialHint?: string
}

const TEMPORARY_STATUS = new Set([408, 429, 500, 502, 503, 504])
const TEMPORARY_CODES = new Set(['TOOMANYREQUESTS', 'UNAVAILABLE'])
const LOGIN_HINT = 'check --registry-username/--registry-password, or run slipway registry login'

export function isTemporaryStatus(status: number): boolean {
  return TEMPORARY_STATUS.has(status)
}

interface ErrorBody {
  codes: string[]
  messages: string[]
}

/** Parses `{"errors":[{"code","message","detail"}]}`; anything else gives no codes. */
export function parseErrorBody(text: string): ErrorBody {
  const out: ErrorBody = {codes: [], messages: []}
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return out
  }
  const errors = (doc as {errors?: unknown} | null)?.errors
  if (!Array.isArray(errors)) return out
  for (const e of errors) {
    if (e === null || typeof e !== 'object') continue
    const {code, message} = e as {code?: unknown; message?: unknown}
    if (typeof code === 'string') out.codes.push(code.toUpperCase())
    if (typeof message === 'string' && message !== '') out.messages.push(message)
  }
  return out
}

/** Builds the error for a response status that the caller did not expect. `body` is the (capped) error body. */
export function registryErrorFor(status: number, body: string, ctx: RequestContext): RegistryError {
  const {codes, messages} = parseErrorBody(body)
  const temporary = TEMPORARY_STATUS.has(status) || codes.some((c) => TEMPORARY_CODES.has(c))
  const detail = describe(codes, messages, body)
  const info = (kind: ErrorKind, message: string, hint?: string): RegistryError =>
    new RegistryError(kind, redactSecrets(message), {status, codes, temporary, ...(hint ? {hint} : {})})

  const from = ctx.credential ? ` with the credentials from ${ctx.credential.source}` : ''
  if (status === 401 || codes.includes('UNAUTHORIZED')) {
    return ctx.credential
      ? info('auth', `authentication to ${ctx.host} failed for ${ctx.what}${from}`, ctx.credential.hint)
      : info('auth', `${ctx.host} requires authentication for ${ctx.what} and no credentials were found`, ctx.missingCredentialHint ?? LOGIN_HINT)
  }
  if (status === 403 || codes.includes('DENIED')) {
    return info('auth', `${ctx.host} denied access to ${ctx.what}${from}${detail}`, `${ctx.credential?.hint ?? LOGIN_HINT} (the account may lack permission)`)
  }
  if (ctx.method === 'DELETE' && (status === 405 || codes.includes('UNSUPPORTED'))) {
    return info('registry', `${ctx.host} does not allow deleting ${ctx.what}`,
      'enable `storage: delete: enabled: true` in the registry config (or deletion in its settings)')
  }
  if (status === 404 || codes.some((c) => c.endsWith('_UNKNOWN'))) {
    return info('not-found', `${ctx.what} not found on ${ctx.host}${detail}`)
  }
  if (status === 429 || codes.includes('TOOMANYREQUESTS')) {
    return info('registry', `${ctx.host} is rate-limiting requests (${ctx.method} ${ctx.what})`, 'retry later or lower --jobs')
  }
  if (status >= 500) {
    return info('registry', `${ctx.host} failed with HTTP ${status} on ${ctx.method} ${ctx.what}${detail}`, 'the registry is having trouble; retry later')
  }
  return info('registry', `${ctx.host} refused ${ctx.method} ${ctx.what} with HTTP ${status}${detail}`)
}

function describe(codes: string[], messages: string[], body: string): string {
  if (codes.length > 0 || messages.length > 0) {
    const parts = codes.map((c, i) => (messages[i] ? `${c}: ${messages[i]}` : c))
    for (let i = codes.length; i < messages.length; i++) parts.push(messages[i])
    return `: ${oneLine(parts.join('; '))}`
  }
  const text = oneLine(body)
  return text === '' || text.startsWith('<') ? '' : `: ${text}`
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim()
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat
}

/** A registry answer that is not what the API promises (bad JSON, missing header). */
export function garbageError(host: string, what: string, why: string): SlipwayError {
  return new SlipwayError('registry', redactSecrets(`${host} sent an invalid answer for ${what}: ${why}`), {
    hint: 'is this an OCI distribution registry? check the host and port',
  })
}

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
])

/** The error code of a low-level failure, looking through `cause` chains. */
export function errorCode(e: unknown): string | undefined {
  let first: string | undefined
  for (let cur: unknown = e, depth = 0; cur && typeof cur === 'object' && depth < 5; depth++) {
    const code = (cur as {code?: unknown}).code
    if (typeof code === 'string') {
      if (code !== 'UND_ERR_SOCKET') return code
      first ??= code
    }
    cur = (cur as {cause?: unknown}).cause
  }
  return first
}

/** A connection that failed in a way another attempt may fix. */
export function isRetryableNetworkError(e: unknown): boolean {
  const code = errorCode(e)
  return code !== undefined && RETRYABLE_NETWORK_CODES.has(code)
}

/** Whether an HTTPS attempt failed because the server does not speak TLS at all. */
export function isNotTlsError(e: unknown): boolean {
  const code = errorCode(e)
  const msg = e instanceof Error ? `${e.message} ${String((e as {cause?: Error}).cause?.message ?? '')}` : ''
  return code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(msg)
}

/** Turns a low-level connection failure into the one line the user sees (TLS failures come as SlipwayErrors from ./http.ts). */
export function networkError(host: string, e: unknown): SlipwayError {
  if (e instanceof SlipwayError) return e
  const code = errorCode(e)
  if (isNotTlsError(e)) {
    return new SlipwayError('network', `${host} does not speak TLS: it answered HTTPS with plain HTTP (${code ?? 'EPROTO'})`, {
      hint: `pass --insecure-registry ${host} to allow plain HTTP with it`,
      cause: e,
    })
  }
  if (code === 'ENOTFOUND') {
    return new SlipwayError('network', `cannot resolve registry host ${host}`, {hint: 'check the registry name in the image reference', cause: e})
  }
  if (code === 'ECONNREFUSED') {
    return new SlipwayError('network', `connection to ${host} refused`, {hint: 'is the registry running and is the port right?', cause: e})
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') {
    return new SlipwayError('network', `${host} did not answer in time (${code})`, {hint: 'check the network or raise the timeout', cause: e})
  }
  const why = e instanceof Error ? e.message : String(e)
  return new SlipwayError('network', redactSecrets(`connection to ${host} failed: ${why}${code ? ` (${code})` : ''}`), {cause: e})
}
