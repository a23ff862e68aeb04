import type {Readable} from 'node:stream'
import {setFlagsFromString} from 'node:v8'

import {Agent, type Dispatcher} from 'undici'

import {SlipwayError} from '../errors.js'
import {redactSecrets} from '../redact.js'
import {DEFAULTS, type ResolvedOptions} from './options.js'
import {TlsSettings} from './tls/host-tls.js'
import {isInsecureHost} from './tls/insecure-hosts.js'
import {explainTlsFailure} from './tls/tls-failure.js'

export type RequestBody = Buffer | (() => Readable | Promise<Readable>)

export interface HttpRequest {
  method: string
  url: URL
  headers: Record<string, string>
  body?: RequestBody
  /**
   * Skip TLS verification for the request's own host (an --insecure-registry the caller matched by
   * registry name). A redirect to another host is insecure only if that host is listed itself.
   */
  insecure?: boolean
}

export interface HttpResponse {
  status: number
  headers: Dispatcher.ResponseData['headers']
  body: Dispatcher.ResponseData['body']
  /** The URL that answered, after redirects (Location headers are relative to it). */
  url: URL
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Request headers that carry a credential (lower case, as callers write them). */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie']

let wasmBaselineOnly = false
/**
 * undici parses HTTP with a WebAssembly build of llhttp that it compiles on the first connection. V8's
 * optimizing tier for that module raises peak memory by 15-35 MB and buys nothing measurable on registry
 * traffic (few headers, large bodies passed through), so WebAssembly stays on the baseline compiler.
 * Must run before the first connection; slipway runs no other WebAssembly.
 */
function keepWasmOnBaselineCompiler(): void {
  if (wasmBaselineOnly) return
  wasmBaselineOnly = true
  setFlagsFromString('--liftoff-only')
}

/**
 * Keep-alive connection pools for every registry and token server: one for plain HTTP and one per HTTPS
 * host with that host's own TLS settings (certs.d CAs and client certificate, ./tls/host-tls.ts), so a
 * client certificate is presented to its own host only, redirects included. Follows redirects itself so
 * that credentials never travel to another host either.
 */
export class HttpClient {
  private readonly agents = new Map<string, Agent>()
  private readonly opts: ResolvedOptions
  private readonly tls: TlsSettings

  constructor(opts: ResolvedOptions) {
    keepWasmOnBaselineCompiler()
    this.opts = opts
    this.tls = new TlsSettings(opts.env, opts.caFile)
  }

  /**
   * At most `jobs` connections per origin. undici frees a connection one event-loop turn after its response
   * ended, so without a cap the next request of the same chain (HEAD, POST, PUT…) opened a new connection
   * each time — a new TLS handshake per request on a real registry. Capped, it waits that turn and reuses.
   * No caller holds one response open while it waits for another, so a cap cannot deadlock.
   */
  private agentOptions(): Agent.Options {
    return {headersTimeout: this.opts.timeoutMs, bodyTimeout: this.opts.timeoutMs, keepAliveTimeout: 10_000, connections: this.opts.jobs}
  }

  private dispatcher(url: URL, insecure: boolean): Agent {
    const https = url.protocol === 'https:'
    const key = https ? `${insecure ? 'insecure ' : ''}${url.hostname}:${url.port || '443'}` : 'http'
    let agent = this.agents.get(key)
    if (!agent) {
      const tls = https ? {secureContext: this.tls.forHost(url.hostname, url.port || '443').secureContext, rejectUnauthorized: !insecure} : {}
      agent = new Agent({...this.agentOptions(), connect: {...tls, timeout: 15_000}})
      this.agents.set(key, agent)
    }
    return agent
  }

  /** A TLS failure said in one line with what was tried, or the error as it was. */
  private async explain(url: URL, insecure: boolean, e: unknown): Promise<unknown> {
    if (url.protocol !== 'https:') return e
    const port = url.port || '443'
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const ctx = {tls: this.tls.forHost(url.hostname, port), insecure, suggestedDir: this.tls.suggestedDir(url.hostname, port)}
    return (await explainTlsFailure(host, port, e, ctx)) ?? e
  }

  async send(req: HttpRequest): Promise<HttpResponse> {
    let {method, url} = req
    const headers: Record<string, string> = {'user-agent': this.opts.userAgent, ...req.headers}
    let body = req.body
    for (let hop = 0; ; hop++) {
      const started = Date.now()
      const insecure = hop === 0 || url.host === req.url.host ? Boolean(req.insecure) : isInsecureHost(this.opts.insecureHosts, url.host)
      let res: Dispatcher.ResponseData
      try {
        res = await this.dispatcher(url, insecure).request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: method as Dispatcher.HttpMethod,
          // undici closes the connection after every HEAD unless told not to (servers that send a body
          // anyway); registries answer HEAD correctly, and existence checks are most of a push's requests
          ...(method === 'HEAD' ? {reset: false} : {}),
          headers,
          body: body === undefined ? null : Buffer.isBuffer(body) ? body : await body(),
          ...(this.opts.signal ? {signal: this.opts.signal} : {}),
        })
      } catch (e) {
        this.log(`${method} ${url.href} failed after ${Date.now() - started} ms: ${(e as Error).message}`, headers)
        throw await this.explain(url, insecure, e)
      }
      this.log(`${method} ${url.href} → ${res.statusCode} (${Date.now() - started} ms)`, headers)
      const location = res.headers.location
      if (!REDIRECTS.has(res.statusCode) || typeof location !== 'string') return {status: res.statusCode, headers: res.headers, body: res.body, url}
      await drain(res.body)
      if (hop >= DEFAULTS.maxRedirects) throw new SlipwayError('registry', `too many redirects from ${req.url.host} for ${req.method} ${req.url.pathname}`)
      const next = new URL(location, url)
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new SlipwayError('registry', `${url.host} redirected to an unsupported URL scheme ${next.protocol}`)
      // another origin (a CDN, or the same host over plain http) gets no credentials of this one
      if (next.origin !== url.origin) for (const name of CREDENTIAL_HEADERS) delete headers[name]
      if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
        method = 'GET'
        body = undefined
      }
      url = next
    }
  }

  private log(line: string, headers: Record<string, string>): void {
    if (!this.opts.debug) return
    const auth = headers.authorization ? ` [authorization: ${headers.authorization.split(' ')[0]} ***]` : ''
    this.opts.debug(redactSecrets(`slipway registry: ${line}${auth}`))
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map(a => a.close()))
  }
}

/** Reads a response body up to `max` bytes; beyond that returns undefined (and discards the rest). */
export async function readCapped(body: Readable, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > max) {
      discard(body)
      return undefined
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** Reads at most `max` bytes of a body as text, for error messages; never fails. */
export async function readText(body: Readable, max: number = DEFAULTS.maxErrorBodyBytes): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk.subarray(0, Math.max(0, max - size)))
      size += chunk.length
      if (size >= max) break
    }
  } catch {
    // a broken error body still leaves the status to report
  }
  discard(body)
  return Buffer.concat(chunks).toString('utf8')
}

/** Throws a body away without reading it (undici bodies emit 'aborted' errors when destroyed unread). */
export function discard(body: Readable): void {
  body.on('error', () => { /* the response is being thrown away */ })
  body.destroy()
}

export async function drain(body: Readable): Promise<void> {
  try {
    for await (const _ of body) { /* discard */ }
  } catch {
    // nothing to do: the response is being thrown away
  }
}

export function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}
