import {apiHost, isLoopbackRegistry} from '../oci/ref.js'
import {Authenticator} from './auth/authenticator.js'
import {missingCredentialHint} from './auth/credentials.js'
import {parseChallenge} from './auth/challenge.js'
import type {Scope} from './auth/scope.js'
import {isNotTlsError, isRetryableNetworkError, isTemporaryStatus, networkError, registryErrorFor, errorCode} from './errors.js'
import {drain, header, HttpClient, type HttpResponse, readText, type RequestBody} from './http.js'
import type {ResolvedOptions} from './options.js'
import {isInsecureHost} from './tls/insecure-hosts.js'
import {parseRetryAfter, RetryBudget, sleep} from './retry.js'

export interface ApiRequest {
  registry: string
  method: string
  /** `/v2/…` on the registry, or an absolute URL the registry handed out (upload Location, Link). */
  path: string
  query?: Record<string, string>
  headers?: Record<string, string>
  body?: RequestBody
  scopes: readonly Scope[]
  /** Statuses that are an answer; anything else becomes a RegistryError. */
  ok: readonly number[]
  /** For messages: what the request is about. */
  what: string
  /** Retries for this request; 0 for requests that must not be repeated blindly. Default: the client's. */
  retries?: number
}

/**
 * Registry requests: scheme detection, authentication, retries with backoff, and the mapping of
 * unexpected answers to errors.
 */
export class Transport {
  readonly http: HttpClient
  readonly auth: Authenticator
  private readonly bases = new Map<string, Promise<URL>>()

  constructor(readonly opts: ResolvedOptions) {
    this.http = new HttpClient(opts)
    this.auth = new Authenticator(this.http, opts)
  }

  isInsecure(registry: string): boolean {
    return isInsecureHost(this.opts.insecureHosts, registry) || isInsecureHost(this.opts.insecureHosts, apiHost(registry))
  }

  /** `https://host/` or, for loopback and insecure registries that do not speak TLS, `http://host/`. Cached. */
  baseUrl(registry: string): Promise<URL> {
    let p = this.bases.get(registry)
    if (!p) {
      p = this.detectScheme(registry)
      this.bases.set(registry, p)
      p.catch(() => this.bases.delete(registry))
    }
    return p
  }

  private async detectScheme(registry: string): Promise<URL> {
    const host = apiHost(registry)
    const https = new URL(`https://${host}/`)
    const insecure = this.isInsecure(registry)
    if (!insecure && !isLoopbackRegistry(registry)) return https
    try {
      const res = await this.http.send({method: 'GET', url: new URL('/v2/', https), headers: {}, insecure})
      this.learnFrom(registry, res)
      await drain(res.body)
      return https
    } catch (e) {
      if (isNotTlsError(e) || errorCode(e) === 'ECONNRESET' || (insecure && isRetryableNetworkError(e) && errorCode(e) !== 'ECONNREFUSED')) {
        return new URL(`http://${host}/`)
      }
      throw networkError(host, e)
    }
  }

  private learnFrom(registry: string, res: HttpResponse): void {
    if (res.status !== 401) return
    const challenge = parseChallenge(res.headers['www-authenticate'])
    if (challenge) this.auth.learn(registry, challenge)
  }

  async request(req: ApiRequest): Promise<HttpResponse> {
    const base = await this.baseUrl(req.registry)
    const url = new URL(req.path, base)
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v)
    // Credentials belong to the registry's origin (scheme, host, port). A Link or upload Location the
    // registry hands out on another origin (storage, CDN) is followed without them, as
    // go-containerregistry and distribution's client do; its 401 challenges are not the registry's.
    const ownOrigin = url.origin === base.origin
    const insecure = this.isInsecure(req.registry)
    const budget = new RetryBudget(req.retries ?? this.opts.retries, this.opts.maxRetryWaitMs, this.opts.retryBaseMs)
    let refusedAuth = ownOrigin ? 0 : 1
    for (let attempt = 0; ;) {
      // an interrupted run starts no request, and a resumed download or retry is a new one
      this.opts.signal?.throwIfAborted()
      const authorization = ownOrigin ? await this.auth.authorization(req.registry, req.scopes, base, insecure) : undefined
      const headers = {...req.headers, ...(authorization ? {authorization} : {})}
      let res: HttpResponse
      try {
        res = await this.http.send({method: req.method, url, headers, ...(req.body === undefined ? {} : {body: req.body}), insecure})
      } catch (e) {
        const delay = isRetryableNetworkError(e) ? budget.next(attempt, undefined) : undefined
        if (delay === undefined) throw networkError(url.host, e)
        attempt++
        await sleep(delay, this.opts.signal)
        continue
      }
      if (req.ok.includes(res.status)) return res

      if (res.status === 401 && refusedAuth === 0) {
        // First refusal: learn the challenge (or that our token went stale) and try once more.
        const challenge = parseChallenge(res.headers['www-authenticate'])
        if (challenge) {
          refusedAuth++
          this.auth.learn(req.registry, challenge)
          this.auth.invalidate(req.registry, req.scopes)
          await drain(res.body)
          continue
        }
      }
      if (isTemporaryStatus(res.status)) {
        const delay = budget.next(attempt, capped(parseRetryAfter(header(res.headers, 'retry-after')), this.opts.maxRetryWaitMs))
        if (delay !== undefined) {
          await drain(res.body)
          attempt++
          await sleep(delay, this.opts.signal)
          continue
        }
      }
      const text = req.method === 'HEAD' ? '' : await readText(res.body)
      if (req.method === 'HEAD') await drain(res.body)
      const credential = authorization === undefined ? undefined : await this.auth.credential(req.registry, req.scopes)
      throw registryErrorFor(res.status, text, {
        host: url.host, method: req.method, what: req.what,
        ...(credential ? {credential} : {missingCredentialHint: missingCredentialHint(req.registry, this.opts)}),
      })
    }
  }

  async close(): Promise<void> {
    await this.http.close()
  }
}

function capped(ms: number | undefined, max: number): number | undefined {
  return ms === undefined ? undefined : Math.min(ms, max)
}
