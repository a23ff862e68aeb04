import type {HttpClient} from '../http.js'
import type {ResolvedOptions} from '../options.js'
import type {Challenge} from './challenge.js'
import {type Credential, findCredential, missingCredentialHint} from './credentials.js'
import {type Scope, scopeStrings} from './scope.js'
import {fetchToken, type Token} from './token.js'

/**
 * Decides the Authorization header of each request: learns each registry's challenge from its first
 * 401, then answers with basic credentials or a bearer token cached per (registry, scope).
 */
export class Authenticator {
  private readonly challenges = new Map<string, Challenge>()
  private readonly credentials = new Map<string, Promise<Credential | undefined>>()
  private readonly tokens = new Map<string, Promise<Token>>()
  /** Tokens fetched so far (for tests and debugging). */
  tokenFetches = 0

  constructor(private readonly http: HttpClient, private readonly opts: ResolvedOptions) {}

  learn(registry: string, challenge: Challenge): void {
    this.challenges.set(registry, challenge)
  }

  scheme(registry: string): Challenge['scheme'] | undefined {
    return this.challenges.get(registry)?.scheme
  }

  /**
   * The credentials for requests needing `scopes`: looked up for the repository of the first scope (the
   * target of a cross-repository mount), as auth files may hold them per namespace.
   */
  credential(registry: string, scopes: readonly Scope[] = []): Promise<Credential | undefined> {
    const repository = scopes.find((s) => s.type === 'repository')?.name
    const key = `${registry}/${repository ?? ''}`
    let p = this.credentials.get(key)
    if (!p) {
      p = findCredential(registry, this.opts, repository)
      this.credentials.set(key, p)
      p.catch(() => this.credentials.delete(key))
    }
    return p
  }

  /**
   * The header for a request needing `scopes` on the registry at `base`; undefined when the registry asked
   * for nothing (yet). Only for requests to `base`'s origin (the transport decides).
   */
  async authorization(registry: string, scopes: readonly Scope[], base: URL, insecure: boolean): Promise<string | undefined> {
    const challenge = this.challenges.get(registry)
    if (!challenge) return undefined
    const cred = await this.credential(registry, scopes)
    if (challenge.scheme === 'basic') {
      return cred?.kind === 'basic' ? `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}` : undefined
    }
    const wanted = scopeStrings(scopes)
    const key = `${registry}|${wanted.join(' ')}`
    let pending = this.tokens.get(key)
    if (pending) {
      const token = await pending.catch(() => undefined)
      if (token && token.renewAt > Date.now()) return `Bearer ${token.token}`
      if (this.tokens.get(key) === pending) this.tokens.delete(key)
    }
    pending = this.tokens.get(key)
    if (!pending) {
      this.tokenFetches++
      const target = {registry, base, ...(cred ? {} : {missingCredentialHint: missingCredentialHint(registry, this.opts)})}
      pending = fetchToken(this.http, target, challenge, wanted, cred, insecure)
      this.tokens.set(key, pending)
      pending.catch(() => { if (this.tokens.get(key) === pending) this.tokens.delete(key) })
    }
    return `Bearer ${(await pending).token}`
  }

  /** Forgets the token for these scopes after the registry refused it. */
  invalidate(registry: string, scopes: readonly Scope[]): void {
    this.tokens.delete(`${registry}|${scopeStrings(scopes).join(' ')}`)
  }
}
