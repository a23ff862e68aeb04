import {SlipwayError} from '../../errors.js'
import {registerSecret} from '../../redact.js'
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

/**
 * Fetches a bearer token from the challenge's realm (distribution's token protocol): a GET with basic
 * credentials, or the OAuth2 refresh-token POST when we hold an identity token.
 */
export async function fetchToken(http: HttpClient, registryHost: string, challenge: Challenge, scopes: string[], cred: Credential | undefined, insecure: boolean): Promise<Token> {
  const realm = challenge.params.realm
  if (!realm) throw garbageError(registryHost, 'an authentication challenge', 'Bearer challenge without realm')
  let url: URL
  try {
    url = new URL(realm)
  } catch {
    throw garbageError(registryHost, 'an authentication challenge', `realm "${realm}" is not a URL`)
  }
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
    throw registryErrorFor(res.status, text, {host: registryHost, method: 'GET', what, authenticated: cred !== undefined})
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

export function noCredentialsForBasic(host: string): SlipwayError {
  return new SlipwayError('auth', `${host} requires a user name and password and none were found`, {
    hint: 'pass --registry-username/--registry-password, or run docker login',
  })
}
