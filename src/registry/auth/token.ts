import {SlipwayError} from '../../errors.js'
import {isLoopbackRegistry} from '../../oci/ref.js'
import {redactSecrets, registerSecret} from '../../redact.js'
import {garbageError, registryErrorFor} from '../errors.js'
import {type HttpClient, readCapped, readText} from '../http.js'
import {DEFAULTS} from '../options.js'
import type {Challenge} from './challenge.js'
import type {Credential} from './credentials.js'

export interface Token {
  token: string
  /** Epoch ms after which the token is renewed (a little before the issuer's expiry). */
  renewAt: number
}

/** The registry a token is for: its name in references and the base URL it answers on. */
export interface TokenTarget {
  registry: string
  base: URL
  /** What to say when the issuer wants credentials and we have none (what was looked in). */
  missingCredentialHint?: string
}

/**
 * Fetches a bearer token from the challenge's realm (distribution's token protocol): a GET with basic
 * credentials, or the OAuth2 refresh-token POST when we hold an identity token.
 */
export async function fetchToken(http: HttpClient, target: TokenTarget, challenge: Challenge, scopes: string[], cred: Credential | undefined, insecure: boolean): Promise<Token> {
  const registryHost = target.registry
  const url = realmUrl(challenge, target)
  const service = challenge.params.service
  const headers: Record<string, string> = {}
  let res
  if (cred?.kind === 'identity-token') {
    const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: cred.token, client_id: 'slipway'})
    if (service) form.set('service', service)
    if (scopes.length > 0) form.set('scope', scopes.join(' '))
    headers['content-type'] = 'application/x-www-form-urlencoded'
    res = await http.send({method: 'POST', url, headers, body: Buffer.from(form.toString()), insecure})
  } else {
    if (service) url.searchParams.set('service', service)
    for (const s of scopes) url.searchParams.append('scope', s)
    if (cred?.kind === 'basic') headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`
    res = await http.send({method: 'GET', url, headers, insecure})
  }
  const what = `a token (${scopes.join(' ') || 'no scope'})`
  if (res.status !== 200) {
    const text = await readText(res.body)
    throw registryErrorFor(res.status, text, {
      host: registryHost, method: 'GET', what,
      ...(cred ? {credential: cred} : target.missingCredentialHint ? {missingCredentialHint: target.missingCredentialHint} : {}),
    })
  }
  const bytes = await readCapped(res.body, DEFAULTS.maxTokenBodyBytes)
  let doc: {token?: unknown; access_token?: unknown; expires_in?: unknown; refresh_token?: unknown}
  try {
    doc = JSON.parse(bytes?.toString('utf8') ?? '') as typeof doc
  } catch {
    throw garbageError(url.host, what, 'the token answer is not JSON')
  }
  const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : doc.access_token
  if (typeof token !== 'string' || token === '') throw garbageError(url.host, what, 'no token in the answer')
  registerSecret(token)
  if (typeof doc.refresh_token === 'string') registerSecret(doc.refresh_token)
  const ttl = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULTS.tokenTtlSeconds
  // Renew at 90% of the lifetime, so a token never expires between our check and the registry's.
  return {token, renewAt: Date.now() + ttl * 900}
}

/**
 * The realm the credentials go to, checked before anything is sent there: https; or plain http on a
 * loopback address, or on the registry's own host when the registry itself is plain http (it sees the
 * credentials in clear text anyway). Anything else would hand the password to whoever is on the path.
 */
export function realmUrl(challenge: Challenge, target: TokenTarget): URL {
  const realm = challenge.params.realm
  if (!realm) throw garbageError(target.registry, 'an authentication challenge', 'Bearer challenge without realm')
  let url: URL
  try {
    url = new URL(realm)
  } catch {
    throw garbageError(target.registry, 'an authentication challenge', `realm "${realm}" is not a URL`)
  }
  const shown = redactSecrets(realm)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SlipwayError('auth', `${target.registry} names the token realm ${shown}, whose scheme ${url.protocol} is not https: refusing to send credentials there`, {
      hint: 'a registry token service is an https URL; check the registry (or what is in front of it)',
    })
  }
  const sameHostPlainRegistry = target.base.protocol === 'http:' && url.hostname === target.base.hostname
  if (url.protocol === 'http:' && !isLoopbackRegistry(url.host) && !sameHostPlainRegistry) {
    throw new SlipwayError('auth', `${target.registry} names the token realm ${shown}, which is plain http on another host: refusing to send credentials there in clear text`, {
      hint: 'serve the token service over https',
    })
  }
  return url
}
