import {registerSecret} from '../../redact.js'
import type {ResolvedOptions} from '../options.js'
import {DEFAULTS} from '../options.js'
import {type AuthFileEntry, authFileEntry, describeFile, normalizeAuthKey, normalizeRegistryHost, readAuthFile} from './auth-file.js'
import {authFiles} from './auth-files.js'
import {helperGet} from './credential-helper.js'

/**
 * Credentials for one registry. `source` says where they came from for error messages (flag, variable,
 * file or helper: never the secret) and `hint` what to check when the registry refuses them.
 */
export type Credential = (
  | {kind: 'basic'; username: string; password: string}
  /** An identity (refresh) token for the bearer token flow, from `docker login` to an OAuth registry. */
  | {kind: 'identity-token'; token: string}
) & {source: string; hint: string}

const EXPLICIT = {
  flags: {source: 'the --registry-username/--registry-password flags', hint: 'check --registry-username/--registry-password'},
  environment: {source: 'SLIPWAY_REGISTRY_USERNAME/SLIPWAY_REGISTRY_PASSWORD', hint: 'check SLIPWAY_REGISTRY_USERNAME and SLIPWAY_REGISTRY_PASSWORD'},
} as const

/**
 * Finds credentials for a repository (or, without one, its registry), in priority order: explicit options
 * (flags), which belong to their one registry only; GitLab CI variables for `$CI_REGISTRY`; then the auth
 * files in authFiles' order, the first that has an entry winning. Every secret found is registered for
 * redaction.
 */
export async function findCredential(registry: string, opts: ResolvedOptions, repository?: string): Promise<Credential | undefined> {
  const cred = await lookup(registry, opts, repository)
  if (cred?.kind === 'basic') registerSecret(cred.password)
  if (cred?.kind === 'identity-token') registerSecret(cred.token)
  if (cred?.kind === 'basic') registerSecret(Buffer.from(`${cred.username}:${cred.password}`).toString('base64'))
  return cred
}

async function lookup(registry: string, opts: ResolvedOptions, repository: string | undefined): Promise<Credential | undefined> {
  const host = normalizeRegistryHost(registry)
  const explicit = opts.credentials
  if (explicit && normalizeRegistryHost(explicit.registry) === host) {
    return {kind: 'basic', username: explicit.username, password: explicit.password, ...EXPLICIT[explicit.from ?? 'flags']}
  }

  const env = opts.env
  const ciPasswordVar = env.CI_REGISTRY_PASSWORD ? 'CI_REGISTRY_PASSWORD' : 'CI_JOB_TOKEN'
  const ciPassword = env[ciPasswordVar]
  if (env.CI_REGISTRY && normalizeRegistryHost(env.CI_REGISTRY) === host && env.CI_REGISTRY_USER && ciPassword) {
    return {
      kind: 'basic', username: env.CI_REGISTRY_USER, password: ciPassword,
      source: `the GitLab CI variables CI_REGISTRY_USER/${ciPasswordVar}`, hint: `check the job's CI_REGISTRY_USER and ${ciPasswordVar}`,
    }
  }

  for (const file of authFiles(env)) {
    const doc = readAuthFile(file)
    const entry = doc && authFileEntry(file, doc, registry, repository)
    const cred = entry && await fromEntry(entry, host, env)
    if (cred) return cred
  }
  return undefined
}

async function fromEntry(entry: AuthFileEntry, host: string, env: NodeJS.ProcessEnv): Promise<Credential | undefined> {
  const where = describeFile(entry.file)
  const fromFile = {
    source: normalizeAuthKey(entry.key, entry.file.legacy) === host ? where : `${where} (entry ${entry.key})`,
    hint: `run slipway registry login ${entry.key} again, or fix its entry in ${entry.file.path}`,
  }
  if (entry.kind === 'basic') return {kind: 'basic', username: entry.username, password: entry.password, ...fromFile}
  if (entry.kind === 'identity-token') return {kind: 'identity-token', token: entry.token, ...fromFile}
  const run = {helper: entry.helper, namedIn: where, env, timeoutMs: DEFAULTS.credentialHelperTimeoutMs}
  const found = await helperGet(run, entry.serverUrl)
  if (!found) return undefined
  const program = `docker-credential-${entry.helper}`
  const fromHelper = {source: `the credential helper ${program} (named in ${entry.file.path})`, hint: `check what ${program} stores for ${entry.serverUrl}`}
  // The helper protocol marks identity tokens with the user name "<token>".
  return found.username === '<token>'
    ? {kind: 'identity-token', token: found.secret, ...fromHelper}
    : {kind: 'basic', username: found.username, password: found.secret, ...fromHelper}
}

/**
 * The hint for a registry that asked for credentials when none were found for it: what was looked in,
 * and how to log in.
 */
export function missingCredentialHint(registry: string, opts: ResolvedOptions): string {
  const host = normalizeRegistryHost(registry)
  const explicit = opts.credentials
  const looked = `looked in ${authFiles(opts.env).map((f) => f.shown).join(', ')}`
  const login = `run slipway registry login ${host}`
  if (explicit && normalizeRegistryHost(explicit.registry) !== host) {
    return `${EXPLICIT[explicit.from ?? 'flags'].source} are only for ${explicit.registry}; for ${host} ${looked}: ${login}`
  }
  return `${looked}; ${login}, or pass --registry-username/--registry-password`
}
