import {registerSecret} from '../../redact.js'
import type {ResolvedOptions} from '../options.js'
import {DEFAULTS} from '../options.js'
import {runCredentialHelper} from './credential-helper.js'
import {dockerConfigEntry, normalizeConfigKey} from './docker-config.js'

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
 * Finds credentials for a registry, in priority order: explicit options (flags), which belong to their one
 * registry only; GitLab CI variables for `$CI_REGISTRY`; docker config.json (credHelpers, auths,
 * credsStore). Every secret found is registered for redaction.
 */
export async function findCredential(registry: string, opts: ResolvedOptions): Promise<Credential | undefined> {
  const cred = await lookup(registry, opts)
  if (cred?.kind === 'basic') registerSecret(cred.password)
  if (cred?.kind === 'identity-token') registerSecret(cred.token)
  if (cred?.kind === 'basic') registerSecret(Buffer.from(`${cred.username}:${cred.password}`).toString('base64'))
  return cred
}

async function lookup(registry: string, opts: ResolvedOptions): Promise<Credential | undefined> {
  const host = normalizeConfigKey(registry)
  const explicit = opts.credentials
  if (explicit && normalizeConfigKey(explicit.registry) === host) {
    return {kind: 'basic', username: explicit.username, password: explicit.password, ...EXPLICIT[explicit.from ?? 'flags']}
  }

  const env = opts.env
  const ciPasswordVar = env.CI_REGISTRY_PASSWORD ? 'CI_REGISTRY_PASSWORD' : 'CI_JOB_TOKEN'
  const ciPassword = env[ciPasswordVar]
  if (env.CI_REGISTRY && normalizeConfigKey(env.CI_REGISTRY) === host && env.CI_REGISTRY_USER && ciPassword) {
    return {
      kind: 'basic', username: env.CI_REGISTRY_USER, password: ciPassword,
      source: `the GitLab CI variables CI_REGISTRY_USER/${ciPasswordVar}`, hint: `check the job's CI_REGISTRY_USER and ${ciPasswordVar}`,
    }
  }

  const entry = dockerConfigEntry(registry, env)
  if (!entry) return undefined
  const fromFile = {source: `docker config ${entry.path}`, hint: `run docker login ${host} again, or fix its entry in ${entry.path}`}
  if (entry.kind === 'basic') return {kind: 'basic', username: entry.username, password: entry.password, ...fromFile}
  if (entry.kind === 'identity-token') return {kind: 'identity-token', token: entry.token, ...fromFile}
  const found = await runCredentialHelper(entry.helper, entry.serverUrl, env, DEFAULTS.credentialHelperTimeoutMs)
  if (!found) return undefined
  const program = `docker-credential-${entry.helper}`
  const fromHelper = {source: `the credential helper ${program} (named in ${entry.path})`, hint: `check what ${program} stores for ${entry.serverUrl}`}
  // The helper protocol marks identity tokens with the user name "<token>".
  return found.username === '<token>'
    ? {kind: 'identity-token', token: found.secret, ...fromHelper}
    : {kind: 'basic', username: found.username, password: found.secret, ...fromHelper}
}

/** The hint for a registry that asked for credentials when none were found for it. */
export function missingCredentialHint(registry: string, opts: ResolvedOptions): string {
  const host = normalizeConfigKey(registry)
  const explicit = opts.credentials
  if (explicit && normalizeConfigKey(explicit.registry) !== host) {
    return `${EXPLICIT[explicit.from ?? 'flags'].source} are only for ${explicit.registry}; for ${host} run docker login ${host} (or add it to docker config.json)`
  }
  return 'pass --registry-username/--registry-password, or run docker login'
}
