import {createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {request as httpsRequest} from 'node:https'
import type {AddressInfo, Socket} from 'node:net'
import {readFileSync} from 'node:fs'
import {STATUS_CODES} from 'node:http'

/**
 * A loopback HTTP proxy placed between slipway and a real registry that misbehaves on purpose. Slipway is
 * pointed at `proxy.host` (plain HTTP on 127.0.0.1, which slipway allows for loopback); every request is
 * forwarded to the registry unless a rule matches it, and then the rule's fault is applied:
 *
 *   pass                 forward untouched (useful to count requests of a kind)
 *   reset                close the connection with a TCP RST before answering
 *   truncate             forward the status and headers (the real Content-Length), then cut the body after
 *                        `afterBytes` (default half of it) and close the connection
 *   status               answer 500/502/503/429 (or any code) without forwarding, with Retry-After if given
 *   lie-content-length   forward the body but announce Content-Length + `delta`, then close the connection
 *   corrupt-body         forward with one byte flipped (same length): content that does not match its digest
 *   stall                wait `ms` before answering (`afterBytes` set: send headers and that many bytes first; a body no longer than that is answered whole)
 *   replace              answer with the registry's answer rewritten by `rewrite` (status, headers, body):
 *                        garbage JSON, oversized manifests and tag lists, another blob's content, redirects
 *   rewrite-path         forward to another path (e.g. a mount request without its `mount`/`from` query, as a
 *                        registry that refuses cross-repository mounts answers it)
 *
 * Rules are tried in the order they were added; a rule with `times` applies to that many matching requests
 * and then stops matching. Every request is logged with its headers (the secrets test reads the
 * Authorization headers slipway sent), the fault applied to it, and the body bytes the registry received
 * and sent (`blobBytes` sums them for blob traffic: what a push or pull really moved).
 *
 * A second proxy on another loopback address (`listenAddress: '127.0.0.2'`) plays "another host" that a
 * hostile or CDN-backed registry hands out in Link, Location, redirects and token realms: its log shows what
 * slipway sent there. With `upstreamAuthorization` it authenticates to the registry itself, the way a
 * pre-signed storage URL carries its own authority, so a request that arrives without credentials still works.
 */
export type Fault =
  | {kind: 'pass'}
  | {kind: 'reset'}
  | {kind: 'truncate'; afterBytes?: number}
  | {kind: 'status'; status: number; retryAfter?: string; body?: string}
  | {kind: 'lie-content-length'; delta: number}
  | {kind: 'corrupt-body'; offset?: number}
  | {kind: 'stall'; ms: number; afterBytes?: number}
  | {kind: 'replace'; rewrite: (upstream: UpstreamAnswer, req: SeenRequest) => UpstreamAnswer | Promise<UpstreamAnswer>}
  | {kind: 'rewrite-path'; path: (path: string) => string}

export interface UpstreamAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface SeenRequest {
  method: string
  /** Path and query, e.g. /v2/app/manifests/latest */
  path: string
  headers: IncomingHttpHeaders
  /** The fault applied, `pass` when none matched. */
  fault: Fault['kind']
  /** Body bytes forwarded to the registry (0 for requests answered by a fault without forwarding). */
  requestBytes: number
  /** Body bytes the registry answered with (as it sent them, before any fault altered them). */
  responseBytes: number
}

/** What a rule matches: a predicate, or a method and/or a path pattern. */
export type RequestMatcher = ((req: {method: string; path: string; headers: IncomingHttpHeaders}) => boolean) | {method?: string; path?: RegExp}

export interface FaultRule {
  match: RequestMatcher
  fault: Fault
  /** Apply to this many matching requests, then stop matching (default: every one). */
  times?: number
  /** Matching requests this rule was applied to. */
  hits: number
}

export interface FaultProxyOptions {
  /** The registry's base URL, e.g. http://127.0.0.1:5000 or https://127.0.0.1:5443. */
  upstream: string
  /** PEM file trusted for an HTTPS upstream. */
  caFile?: string
  /** Address to listen on (default 127.0.0.1); another 127.0.0.0/8 address is another origin. */
  listenAddress?: string
  /** Authorization header the proxy sends upstream in place of the client's (which is still logged). */
  upstreamAuthorization?: string
}

export interface FaultProxy {
  /** '127.0.0.1:PORT' (or the listen address): what goes into image references instead of the registry's host. */
  host: string
  /** Every request seen, in order. */
  readonly requests: readonly SeenRequest[]
  /** Adds a rule (tried after the earlier ones) and returns it, so a test can read its `hits`. */
  add(match: RequestMatcher, fault: Fault, times?: number): FaultRule
  /** Drops every rule (the request log is kept). */
  clear(): void
  /** Requests seen that match, e.g. `count({method: 'GET', path: /\/blobs\//})`. */
  count(match?: RequestMatcher): number
  /** Body bytes of blob traffic since `since` (an index into `requests`): uploads received, downloads sent. */
  blobBytes(since?: number): BlobBytes
  stop(): Promise<void>
}

export interface BlobBytes {
  /** Bytes the registry received in blob uploads (PUT/PATCH under /blobs/uploads/). */
  uploaded: number
  /** Bytes the registry sent in answers to blob GETs. */
  downloaded: number
}

/** Matchers for the distribution API calls tests fault most often. */
export const match = {
  blobGet: {method: 'GET', path: /\/blobs\/sha256:/} as RequestMatcher,
  blobHead: {method: 'HEAD', path: /\/blobs\/sha256:/} as RequestMatcher,
  manifestHead: {method: 'HEAD', path: /\/manifests\//} as RequestMatcher,
  mount: {method: 'POST', path: /\/blobs\/uploads\/\?.*mount=/} as RequestMatcher,
  manifestGet: {method: 'GET', path: /\/manifests\//} as RequestMatcher,
  manifestPut: {method: 'PUT', path: /\/manifests\//} as RequestMatcher,
  uploadStart: {method: 'POST', path: /\/blobs\/uploads\/$/} as RequestMatcher,
  uploadPut: {method: 'PUT', path: /\/blobs\/uploads\//} as RequestMatcher,
  uploadPatch: {method: 'PATCH', path: /\/blobs\/uploads\//} as RequestMatcher,
  tagList: {method: 'GET', path: /\/tags\/list/} as RequestMatcher,
  any: (() => true) as RequestMatcher,
}

function matches(m: RequestMatcher, req: {method: string; path: string; headers: IncomingHttpHeaders}): boolean {
  if (typeof m === 'function') return m(req)
  return (m.method === undefined || m.method === req.method) && (m.path === undefined || m.path.test(req.path))
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer'])

/**
 * Writes a complete HTTP/1.1 response straight onto the socket (so headers can lie), then closes it once
 * every byte went out: a close on a timer could drop what a slow reader had not taken yet, and the client
 * would see the cut somewhere else than `afterBytes`.
 */
function writeRaw(socket: Socket, status: number, headers: IncomingHttpHeaders, body: Buffer, contentLength: number): void {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Status'}`]
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k === 'content-length' || HOP_BY_HOP.has(k)) continue
    for (const value of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${value}`)
  }
  lines.push(`content-length: ${contentLength}`, 'connection: close', '', '')
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n')), body]), () => socket.destroy())
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream)
  const ca = opts.caFile ? readFileSync(opts.caFile) : undefined
  const requestUpstream = upstream.protocol === 'https:' ? httpsRequest : httpRequest
  const rules: FaultRule[] = []
  const requests: SeenRequest[] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const wait = (ms: number) => new Promise<void>(resolve => {
    const t = setTimeout(() => { timers.delete(t); resolve() }, ms)
    timers.add(t)
  })

  /** Forwards the request and hands back the upstream response (a stream, not read yet). */
  const forward = (req: IncomingMessage, body: Buffer, path: string): Promise<IncomingMessage> => new Promise((resolve, reject) => {
    const headers = {...req.headers}
    delete headers['content-length']
    delete headers['transfer-encoding']
    headers['content-length'] = String(body.length)
    if (opts.upstreamAuthorization !== undefined) headers.authorization = opts.upstreamAuthorization
    // the registry builds Location headers from Host: keep the proxy's, so uploads come back through it
    const up = requestUpstream({
      host: upstream.hostname, port: upstream.port, method: req.method, path, headers, ca,
    }, resolve)
    up.on('error', reject)
    up.end(body)
  })

  const readBody = async (stream: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = []
    for await (const c of stream) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }

  const pickRule = (seen: {method: string; path: string; headers: IncomingHttpHeaders}): FaultRule | undefined => {
    for (const rule of rules) {
      if (rule.times !== undefined && rule.hits >= rule.times) continue
      if (!matches(rule.match, seen)) continue
      rule.hits++
      return rule
    }
    return undefined
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const seen = {method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers}
    const rule = pickRule(seen)
    const fault: Fault = rule?.fault ?? {kind: 'pass'}
    const record: SeenRequest = {...seen, fault: fault.kind, requestBytes: 0, responseBytes: 0}
    requests.push(record)
    const socket = req.socket

    if (fault.kind === 'reset') {
      req.resume()
      socket.resetAndDestroy()
      return
    }
    if (fault.kind === 'status') {
      await readBody(req)
      const headers: Record<string, string> = {'content-type': 'application/json'}
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter
      const code = fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN'
      res.writeHead(fault.status, headers).end(fault.body ?? JSON.stringify({errors: [{code, message: `injected ${fault.status}`}]}))
      return
    }
    const body = await readBody(req)
    if (fault.kind === 'stall' && fault.afterBytes === undefined) await wait(fault.ms)
    const up = await forward(req, body, fault.kind === 'rewrite-path' ? fault.path(seen.path) : seen.path)
    record.requestBytes = body.length
    const status = up.statusCode ?? 502
    const upBody = req.method === 'HEAD' ? Buffer.alloc(0) : await readBody(up)
    record.responseBytes = upBody.length
    const headers = {...up.headers}
    // an HTTPS registry builds upload Locations from our Host header with its own scheme: keep them on us
    if (typeof headers.location === 'string') headers.location = headers.location.replace(`https://${proxyHost()}`, `http://${proxyHost()}`)

    switch (fault.kind) {
      case 'truncate': {
        const keep = Math.min(upBody.length, fault.afterBytes ?? Math.floor(upBody.length / 2))
        writeRaw(socket, status, headers, upBody.subarray(0, keep), upBody.length)
        return
      }
      case 'lie-content-length':
        writeRaw(socket, status, headers, upBody, Math.max(0, upBody.length + fault.delta))
        return
      case 'corrupt-body': {
        const altered = Buffer.from(upBody)
        if (altered.length > 0) altered[Math.min(fault.offset ?? 0, altered.length - 1)] ^= 0xff
        res.writeHead(status, stripHopByHop(headers)).end(altered)
        return
      }
      case 'stall': {
        if (fault.afterBytes === undefined) break
        // a body that ends within afterBytes is answered whole: the stall is for what comes after
        if (upBody.length <= fault.afterBytes) break
        const first = upBody.subarray(0, fault.afterBytes)
        res.writeHead(status, stripHopByHop(headers))
        res.write(first)
        await wait(fault.ms)
        if (!socket.destroyed) res.end(upBody.subarray(first.length))
        return
      }
      case 'replace': {
        const out = await fault.rewrite({status, headers, body: upBody}, record)
        const outHeaders = stripHopByHop(out.headers)
        outHeaders['content-length'] = String(out.body.length)
        res.writeHead(out.status, outHeaders).end(req.method === 'HEAD' ? undefined : out.body)
        return
      }
      default:
        break
    }
    res.writeHead(status, stripHopByHop(headers)).end(req.method === 'HEAD' ? undefined : upBody)
  }

  const listenAddress = opts.listenAddress ?? '127.0.0.1'
  const proxyHost = (): string => `${listenAddress}:${(server.address() as AddressInfo).port}`
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!req.socket.destroyed) req.socket.destroy()
    })
  })
  server.on('connection', s => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>(resolve => server.listen(0, listenAddress, resolve))

  return {
    host: proxyHost(),
    requests,
    add(m, fault, times) {
      const rule: FaultRule = {match: m, fault, times, hits: 0}
      rules.push(rule)
      return rule
    },
    clear() {
      rules.length = 0
    },
    count(m = match.any) {
      return requests.filter(r => matches(m, r)).length
    },
    blobBytes(since = 0) {
      const out: BlobBytes = {uploaded: 0, downloaded: 0}
      for (const r of requests.slice(since)) {
        if ((r.method === 'PUT' || r.method === 'PATCH') && /\/blobs\/uploads\//.test(r.path)) out.uploaded += r.requestBytes
        if (r.method === 'GET' && /\/blobs\/sha256:/.test(r.path)) out.downloaded += r.responseBytes
      }
      return out
    },
    stop: () => new Promise<void>(resolve => {
      for (const t of timers) clearTimeout(t)
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

function stripHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v
  return out
}
