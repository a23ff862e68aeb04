import {type InsecureHost, insecureHostsFromEnv, parseInsecureHost} from './tls/insecure-hosts.js'

/**
 * Options of the registry client, with every default in this one place.
 */
export interface RegistryCredentials {
  username: string
  password: string
  /**
   * The one registry they are for (host[:port] as written in references): the command's REPO. Every other
   * registry gets what GitLab CI variables or docker config.json say for it, or nothing.
   */
  registry: string
  /** How they were given, for error messages. Default 'flags'. */
  from?: 'flags' | 'environment'
}

export interface RegistryClientOptions {
  /** Parallel requests a single operation may run (tag scans, tag pushes). Default 8. */
  jobs?: number
  /** Retries after a temporary failure (connection error, 5xx, 429). Default 4. */
  retries?: number
  /** Upper bound of all backoff waits of one request, in ms. Default 60 000. */
  maxRetryWaitMs?: number
  /** First backoff step in ms (doubles each retry, with jitter). Default 250. */
  retryBaseMs?: number
  /** Default `slipway/<version>`. */
  userAgent?: string
  /** Extra CA certificate(s) (PEM file) trusted besides the system CAs. Default `$SLIPWAY_CA_FILE`. */
  caFile?: string
  /**
   * Hosts that may be spoken to over plain HTTP or HTTPS without verification (--insecure-registry): `HOST`
   * for every port, `HOST:PORT` for one. Added to those in `$SLIPWAY_INSECURE_REGISTRY` (comma-separated;
   * `$SLIPWAY_INSECURE_REGISTRIES` is its older name).
   */
  insecureRegistries?: string[]
  /** Hosts whose 404 answers to HEAD are confirmed with a GET, besides those head-checks.ts knows. Default `$SLIPWAY_HEAD_CONFIRM_REGISTRIES`. */
  headConfirmRegistries?: string[]
  /** Explicit credentials (the --registry-username/--registry-password flags) for one registry; they win there over every other source. */
  credentials?: RegistryCredentials
  /**
   * Environment read for credentials, CA files (SLIPWAY_CA_FILE, SSL_CERT_FILE, SSL_CERT_DIR), certs.d roots
   * (SLIPWAY_CERTS_D, XDG_CONFIG_HOME), insecure registries and debug logging. Default `process.env`.
   */
  env?: NodeJS.ProcessEnv
  /** Timeout waiting for response headers and between body chunks, in ms. Default 60 000. */
  timeoutMs?: number
  /**
   * Blobs smaller than this are uploaded with one streamed PUT, larger ones in PATCH chunks of `chunkSize`
   * (each chunk is held in memory). Default: no limit — every blob goes as one streamed request, the way
   * docker and skopeo send them; set it only for a registry behind a proxy that limits request bodies.
   */
  monolithicUploadMax?: number
  /** Size of one PATCH chunk (raised to the registry's OCI-Chunk-Min-Length). Default 8 MiB. */
  chunkSize?: number
  /** Largest manifest accepted or sent. Default 4 MiB. */
  maxManifestBytes?: number
  /** Safety caps on tag and catalog listings. Defaults 1 000 000 entries, 10 000 pages. */
  maxListEntries?: number
  maxListPages?: number
  /** Where debug lines go when `SLIPWAY_DEBUG=1`. Default stderr. */
  debugLog?: (line: string) => void
  /** Aborts every request (and the body being read or sent) and every retry wait of the client. */
  signal?: AbortSignal
}

export interface ResolvedOptions {
  jobs: number
  retries: number
  maxRetryWaitMs: number
  retryBaseMs: number
  userAgent: string
  caFile?: string
  insecureHosts: InsecureHost[]
  headConfirmRegistries: string[]
  credentials?: RegistryCredentials
  env: NodeJS.ProcessEnv
  timeoutMs: number
  monolithicUploadMax: number
  chunkSize: number
  maxManifestBytes: number
  maxListEntries: number
  maxListPages: number
  debug?: (line: string) => void
  signal?: AbortSignal
}

export const DEFAULTS = {
  jobs: 8,
  retries: 4,
  maxRetryWaitMs: 60_000,
  retryBaseMs: 250,
  userAgent: 'slipway/0.1',
  timeoutMs: 60_000,
  monolithicUploadMax: Number.POSITIVE_INFINITY,
  chunkSize: 8 * 1024 * 1024,
  maxManifestBytes: 4 * 1024 * 1024,
  maxListEntries: 1_000_000,
  maxListPages: 10_000,
  /** Page size asked for in tag and catalog listings (distribution caps it at 1000). */
  listPageSize: 1000,
  /** Cap on the error body read from a registry. */
  maxErrorBodyBytes: 64 * 1024,
  /** Cap on a token response. */
  maxTokenBodyBytes: 1024 * 1024,
  /** Token lifetime when the issuer does not say (distribution's default). */
  tokenTtlSeconds: 60,
  /** Redirects followed per request. */
  maxRedirects: 5,
  /** Seconds a credential helper may take. */
  credentialHelperTimeoutMs: 30_000,
} as const

export function resolveOptions(opts: RegistryClientOptions = {}): ResolvedOptions {
  const env = opts.env ?? process.env
  const insecure = [
    ...(opts.insecureRegistries ?? []),
    ...insecureHostsFromEnv(env.SLIPWAY_INSECURE_REGISTRY),
    ...insecureHostsFromEnv(env.SLIPWAY_INSECURE_REGISTRIES),
  ]
  const headConfirm = opts.headConfirmRegistries ?? (env.SLIPWAY_HEAD_CONFIRM_REGISTRIES ?? '').split(',')
  const caFile = opts.caFile ?? (env.SLIPWAY_CA_FILE || undefined)
  return {
    jobs: positive(opts.jobs, DEFAULTS.jobs),
    retries: Math.max(0, opts.retries ?? DEFAULTS.retries),
    maxRetryWaitMs: opts.maxRetryWaitMs ?? DEFAULTS.maxRetryWaitMs,
    retryBaseMs: opts.retryBaseMs ?? DEFAULTS.retryBaseMs,
    userAgent: opts.userAgent ?? DEFAULTS.userAgent,
    ...(caFile ? {caFile} : {}),
    insecureHosts: insecure.map(parseInsecureHost),
    headConfirmRegistries: headConfirm.map((h) => h.trim()).filter((h) => h !== ''),
    ...(opts.credentials ? {credentials: opts.credentials} : {}),
    env,
    timeoutMs: positive(opts.timeoutMs, DEFAULTS.timeoutMs),
    monolithicUploadMax: opts.monolithicUploadMax ?? DEFAULTS.monolithicUploadMax,
    chunkSize: positive(opts.chunkSize, DEFAULTS.chunkSize),
    maxManifestBytes: positive(opts.maxManifestBytes, DEFAULTS.maxManifestBytes),
    maxListEntries: positive(opts.maxListEntries, DEFAULTS.maxListEntries),
    maxListPages: positive(opts.maxListPages, DEFAULTS.maxListPages),
    ...(opts.signal ? {signal: opts.signal} : {}),
    ...(env.SLIPWAY_DEBUG === '1' ? {debug: opts.debugLog ?? ((line: string) => process.stderr.write(`${line}\n`))} : {}),
  }
}

function positive(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : dflt
}
