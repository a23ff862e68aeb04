import {createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'

/**
 * A small Docker-token-auth server (https://distribution.github.io/distribution/spec/auth/token/) for
 * distribution's `auth: token`. Tokens are ES256 JWTs whose header carries the signing certificate in
 * `x5c`; that certificate is self-signed and is the registry's `rootcertbundle`, which is how
 * distribution 2.8 (registry/auth/token/token.go) finds and trusts the key. It checks iss, aud (= service),
 * exp and nbf, both with 60 s leeway, so a token the issuer calls expired is still accepted for a minute:
 * TTL tests should watch `requestCount`, not the registry's answers.
 */

/** `*` lets distribution accept any action on the resource. */
export type TokenAction = 'pull' | 'push' | 'delete' | '*'

export interface TokenUser {
  username: string
  password: string
  /** The most this user is granted on any repository. */
  actions: readonly TokenAction[]
}

export interface TokenIssuerOptions {
  service: string
  issuer?: string
  users: readonly TokenUser[]
  /** Lifetime of each token (expires_in), 300 s unless told. */
  ttlSeconds?: number
  signing: {certFile: string; keyFile: string}
  /** Serve over HTTPS with this certificate (else plain HTTP). */
  tls?: {certFile: string; keyFile: string}
}

export interface TokenRequest {
  /** Who asked: the Basic auth user name, undefined when anonymous. */
  username?: string
  scopes: string[]
  /** Whether a token was issued (false: 401). */
  issued: boolean
  /** The access the token grants, as `type:name:actions`. */
  granted: string[]
  /** The token issued. */
  token?: string
}

export interface TokenIssuer {
  /** Base URL, e.g. http://127.0.0.1:PORT */
  readonly url: string
  /** The token endpoint the registry names in its challenge: `${url}/token` */
  readonly realm: string
  readonly service: string
  readonly issuer: string
  /** Lifetime of tokens issued from now on; may be changed by a test. */
  ttlSeconds: number
  /** Token requests seen so far (granted or not). */
  readonly requestCount: number
  readonly requests: readonly TokenRequest[]
  stop(): Promise<void>
}

interface ResourceActions {
  type: string
  name: string
  actions: string[]
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url')
}

/** `repository:team/app:pull,push` → {type, name, actions}; a name never holds ':' but a type may be `repository(plugin)`. */
export function parseScope(scope: string): ResourceActions | undefined {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first === -1 || last === first) return undefined
  const actions = scope.slice(last + 1).split(',').filter(a => a !== '')
  return {type: scope.slice(0, first), name: scope.slice(first + 1, last), actions}
}

function grant(user: TokenUser, requested: ResourceActions): ResourceActions | undefined {
  const allowed = new Set<string>(user.actions)
  if (requested.type === 'registry' && requested.name === 'catalog') {
    return allowed.has('*') && requested.actions.includes('*') ? {...requested, actions: ['*']} : undefined
  }
  if (requested.type !== 'repository') return undefined
  const actions = requested.actions.filter(a => allowed.has(a))
  return actions.length === 0 ? undefined : {...requested, actions}
}

function basicCredentials(req: IncomingMessage): {username: string; password: string} | undefined {
  const header = req.headers.authorization ?? ''
  const match = /^basic\s+(.+)$/i.exec(header)
  if (!match) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon === -1 ? undefined : {username: decoded.slice(0, colon), password: decoded.slice(colon + 1)}
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const key: KeyObject = createPrivateKey(await readFile(options.signing.keyFile))
  const certDer = new X509Certificate(await readFile(options.signing.certFile)).raw
  const header = base64url(JSON.stringify({typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')]}))
  const issuerName = options.issuer ?? 'slipway-test-issuer'
  const requests: TokenRequest[] = []

  const signToken = (subject: string, access: ResourceActions[], ttl: number, now: number): string => {
    const claims = {
      iss: issuerName, sub: subject, aud: options.service,
      exp: now + ttl, nbf: now, iat: now, jti: randomUUID(), access,
    }
    const signingInput = `${header}.${base64url(JSON.stringify(claims))}`
    // JWS ES256 wants the raw r||s signature, not DER.
    const signature = sign('sha256', Buffer.from(signingInput), {key, dsaEncoding: 'ieee-p1363'})
    return `${signingInput}.${base64url(signature)}`
  }

  const refuse = (res: ServerResponse, record: TokenRequest): void => {
    requests.push(record)
    res.writeHead(401, {'content-type': 'application/json', 'www-authenticate': 'Basic realm="slipway-test-token"'})
    res.end(JSON.stringify({errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]}))
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://issuer')
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) {
      res.writeHead(404).end()
      return
    }
    let credentials = basicCredentials(req)
    let scopes = url.searchParams.getAll('scope').flatMap(s => s.split(' ')).filter(s => s !== '')
    let service = url.searchParams.get('service')
    if (req.method === 'POST') {
      // OAuth2 password grant, as sent by clients holding credentials but no refresh token.
      const form = new URLSearchParams(await readBody(req))
      if (form.get('grant_type') !== 'password') {
        res.writeHead(400, {'content-type': 'application/json'}).end(JSON.stringify({error: 'unsupported_grant_type'}))
        return
      }
      credentials = {username: form.get('username') ?? '', password: form.get('password') ?? ''}
      scopes = (form.get('scope') ?? '').split(' ').filter(s => s !== '')
      service = form.get('service')
    }
    if (service !== null && service !== options.service) {
      requests.push({username: credentials?.username, scopes, issued: false, granted: []})
      res.writeHead(400, {'content-type': 'application/json'}).end(JSON.stringify({error: `unknown service ${service}`}))
      return
    }
    const user = credentials && options.users.find(u => u.username === credentials.username && u.password === credentials.password)
    if (!user) {
      refuse(res, {username: credentials?.username, scopes, issued: false, granted: []})
      return
    }
    const access = scopes.map(parseScope).flatMap(s => (s ? [grant(user, s)] : [])).filter((a): a is ResourceActions => a !== undefined)
    const now = Math.floor(Date.now() / 1000)
    const ttl = issuer.ttlSeconds
    const token = signToken(user.username, access, ttl, now)
    requests.push({username: user.username, scopes, issued: true, granted: access.map(a => `${a.type}:${a.name}:${a.actions.join(',')}`), token})
    res.writeHead(200, {'content-type': 'application/json'})
    res.end(JSON.stringify({token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString()}))
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(error => {
      if (!res.headersSent) res.writeHead(500)
      res.end(String(error))
    })
  }
  const server: Server = options.tls
    ? createHttpsServer({cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile)}, listener)
    : createHttpServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`

  const issuer: TokenIssuer = {
    url,
    realm: `${url}/token`,
    service: options.service,
    issuer: issuerName,
    ttlSeconds: options.ttlSeconds ?? 300,
    get requestCount() {
      return requests.length
    },
    requests,
    stop: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
  return issuer
}
