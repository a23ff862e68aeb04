import {registerSecret} from '../redact.js'
import type {RegistryClient, RegistryClientOptions} from '../registry/index.js'
import {OciStore, slipwayHome, storeRoot} from '../store/index.js'
import {TransferLedger} from '../transfer/index.js'
import {quietReporter, type Reporter} from './reporter.js'

export interface ContextOptions {
  env?: NodeJS.ProcessEnv
  reporter?: Reporter
  /** Parallel transfers (blobs, manifests). */
  jobs?: number
  /**
   * Explicit credentials (--registry-username/--registry-password or their variables) and the one registry
   * they are for: the command's REPO (or REF). Without `registry` they go nowhere.
   */
  credentials?: {username?: string; password?: string; registry?: string; from?: 'flags' | 'environment'}
  /** --insecure-registry hosts (the registry client adds SLIPWAY_INSECURE_REGISTRY's). */
  insecureRegistries?: string[]
  /** Aborts long work (transfers, shell stages, extraction) when the command is interrupted. */
  signal?: AbortSignal
  /** Whether a person is at a terminal (stdin and stdout): --introspect-error opens its shell only then. */
  interactive?: boolean
  /** The local store to use instead of opening the one under SLIPWAY_HOME. */
  store?: OciStore
  /** The registry client to use instead of making one; it stays the caller's to close. */
  registry?: RegistryClient
}

/**
 * What a workflow works with: the local store, the registry client and the reporter. The store and the
 * client are opened on first use, so a command that needs neither pays for neither; given in the options
 * (a test's own store or client) they are used as they are, and `close` leaves an injected client open.
 */
export class WorkflowContext {
  readonly env: NodeJS.ProcessEnv
  readonly reporter: Reporter
  readonly jobs: number
  readonly home: string
  readonly signal: AbortSignal
  readonly interactive: boolean
  /** The run's blob transfers: where blobs are known to be, sends in flight, bytes moved. */
  readonly transfers = new TransferLedger()
  private storePromise?: Promise<OciStore>
  private client?: Promise<RegistryClient>
  /** Whether `close` closes the client: only the one this context made. */
  private readonly ownsClient: boolean
  private readonly clientOptions: RegistryClientOptions

  constructor(opts: ContextOptions = {}) {
    this.env = opts.env ?? process.env
    this.reporter = opts.reporter ?? quietReporter
    this.jobs = opts.jobs ?? 8
    this.home = slipwayHome(this.env)
    this.signal = opts.signal ?? new AbortController().signal
    this.interactive = opts.interactive ?? false
    if (opts.store) this.storePromise = Promise.resolve(opts.store)
    if (opts.registry) this.client = Promise.resolve(opts.registry)
    this.ownsClient = !opts.registry
    const {username, password, registry, from} = opts.credentials ?? {}
    registerSecret(password)
    this.clientOptions = {
      env: this.env,
      jobs: this.jobs,
      signal: this.signal,
      ...(opts.insecureRegistries?.length ? {insecureRegistries: opts.insecureRegistries} : {}),
      ...(username && password && registry ? {credentials: {username, password, registry, ...(from ? {from} : {})}} : {}),
    }
  }

  store(): Promise<OciStore> {
    this.storePromise ??= OciStore.open(storeRoot(this.env))
    return this.storePromise
  }

  /** The registry client; undici is loaded on first use, so commands that stay local start faster. */
  registry(): Promise<RegistryClient> {
    this.client ??= import('../registry/index.js').then(m => new m.RegistryClient(this.clientOptions))
    return this.client
  }

  async close(): Promise<void> {
    if (this.client && this.ownsClient) await (await this.client).close()
  }
}
