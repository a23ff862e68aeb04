import {mkdir, realpath} from 'node:fs/promises'
import {dirname} from 'node:path'

import {SlipwayError} from '../errors.js'
import {writeFileAtomic} from '../fs-atomic.js'
import {registerSecret} from '../redact.js'
import {
  authFileEntry, type AuthFileDocument, describeFile, helperFor, helperServerUrl, loginKey, normalizeAuthKey, normalizeRegistryHost, readAuthFile, withLogin, withoutLogin,
} from '../registry/auth/auth-file.js'
import {type AuthFile, authFiles, loginFile} from '../registry/auth/auth-files.js'
import {helperErase, helperStore} from '../registry/auth/credential-helper.js'
import {isRegistryError, REGISTRY_DEFAULTS} from '../registry/index.js'
import type {WorkflowContext} from './context.js'

/** A `registry login`/`logout` argument: a registry, or a namespace on one (auth.json keys allow both). */
export interface LoginTarget {
  /** host[:port]: where the credentials are checked. */
  registry: string
  /** host[:port] or host[:port]/namespace, as given (less a URL's scheme and path). */
  name: string
}

const HOST_RE = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::\d{1,5})?$/i
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/

/** Parses HOST[:PORT][/NAMESPACE] (or a URL such as docker's `https://index.docker.io/v1/`, whose path is the API's). */
export function parseLoginTarget(input: string): LoginTarget {
  const url = /^https?:\/\//i.test(input)
  const rest = input.replace(/^https?:\/\//i, '').replace(/\/+$/, '')
  const [host = '', ...path] = rest.split('/')
  const bad = (): SlipwayError => new SlipwayError('usage', `"${input}" is not a registry host[:port] or host[:port]/namespace`, {
    hint: 'e.g. registry.example.com, localhost:5000 or quay.io/team',
  })
  if (!HOST_RE.test(host)) throw bad()
  if (!url && !path.every((c) => PATH_COMPONENT_RE.test(c))) throw bad()
  const registry = normalizeRegistryHost(host)
  return {registry, name: url || path.length === 0 ? registry : `${registry}/${path.join('/')}`}
}

export interface LoginOptions {
  username: string
  password: string
  /** --auth-file (or $REGISTRY_AUTH_FILE); docker's config.json when absent. */
  authFile?: string
}

export interface LoginResult {
  registry: string
  /** The key of the entry written (or the server URL given to the helper). */
  key: string
  username: string
  /** The file written, or the file that names the helper. */
  file: string
  /** The credential helper that stores the credentials, when the file names one for the registry. */
  helper?: string
  /** False when the registry asked for no credentials at all (they are saved, unchecked). */
  checked: boolean
}

/**
 * `registry login`: checks the credentials against the registry (GET /v2/ through the client, so basic
 * and token registries alike), then saves them the way docker does: through the credential helper the
 * file names for the registry, else as the file's `auths` entry, written atomically with mode 0600 and
 * every other key of the file kept. Nothing is written when the registry refuses them.
 */
export async function registryLogin(ctx: WorkflowContext, target: LoginTarget, opts: LoginOptions): Promise<LoginResult> {
  registerSecret(opts.password)
  const file = loginFile(ctx.env, opts.authFile)
  const doc = readAuthFile(file) ?? {}
  const checked = await checkCredentials(ctx, target, opts.username)

  const helper = helperFor(doc, target.registry)
  if (helper) {
    const serverUrl = helperServerUrl(target.registry)
    await helperStore(helperRun(helper, file, ctx.env), serverUrl, {username: opts.username, secret: opts.password})
    return {registry: target.registry, key: serverUrl, username: opts.username, file: file.path, helper: `docker-credential-${helper}`, checked}
  }
  const key = loginKey(file, target.name)
  await writeAuthFile(file, withLogin(doc, key, opts.username, opts.password))
  return {registry: target.registry, key, username: opts.username, file: file.path, checked}
}

async function checkCredentials(ctx: WorkflowContext, target: LoginTarget, username: string): Promise<boolean> {
  const client = await ctx.registry()
  try {
    return (await client.ping(target.registry)).auth !== 'none'
  } catch (e) {
    // 401 or 403 from the registry or its token service; not a realm refused for being unsafe
    if (isRegistryError(e) && e.kind === 'auth') {
      throw new SlipwayError('auth', `the registry refused ${username} at ${target.registry}`, {hint: 'check the user name and password (or token); nothing was saved', cause: e})
    }
    throw e
  }
}

export interface LogoutResult {
  registry: string
  key: string
  file: string
  /** Whether an entry (or the helper's credentials) was there and is gone. */
  removed: boolean
  helper?: string
  /** Other files that still hold credentials for the target (read, never written by logout). */
  elsewhere: string[]
}

/** `registry logout`: removes the entry from the login file and erases the helper's copy, if it has one. */
export async function registryLogout(ctx: WorkflowContext, target: LoginTarget, opts: {authFile?: string}): Promise<LogoutResult> {
  const file = loginFile(ctx.env, opts.authFile)
  const doc = readAuthFile(file)
  const key = loginKey(file, target.name)
  let removed = false
  let helperName: string | undefined
  if (doc) {
    const helper = helperFor(doc, target.registry)
    if (helper) {
      helperName = `docker-credential-${helper}`
      removed = await helperErase(helperRun(helper, file, ctx.env), helperServerUrl(target.registry))
    }
    const without = withoutLogin(doc, key)
    if (without.removed) await writeAuthFile(file, without.doc)
    removed ||= without.removed
  }
  return {registry: target.registry, key, file: file.path, removed, ...(helperName ? {helper: helperName} : {}), elsewhere: holdersOf(ctx.env, target, file)}
}

/** The other auth files with an entry for exactly this target (helpers are named, not run). */
function holdersOf(env: NodeJS.ProcessEnv, target: LoginTarget, except: AuthFile): string[] {
  const [host = '', ...path] = target.name.split('/')
  return authFiles(env).filter((file) => {
    if (file.path === except.path) return false
    let doc: AuthFileDocument | undefined
    try {
      doc = readAuthFile(file)
    } catch {
      return false // a broken file is reported by the lookups that need it
    }
    const entry = doc && authFileEntry(file, doc, host, path.join('/') || undefined)
    return entry !== undefined && (entry.kind === 'helper' || normalizeAuthKey(entry.key, file.legacy) === target.name)
  }).map(describeFile)
}

function helperRun(helper: string, file: AuthFile, env: NodeJS.ProcessEnv) {
  return {helper, namedIn: describeFile(file), env, timeoutMs: REGISTRY_DEFAULTS.credentialHelperTimeoutMs}
}

/**
 * Writes the file atomically, 0600, into its directory (made 0700 if missing, as docker and podman make
 * theirs). A symlinked file (dotfile managers) is written where the link points, as docker does.
 */
async function writeAuthFile(file: AuthFile, doc: AuthFileDocument): Promise<void> {
  const target = await realpath(file.path).catch(() => file.path)
  try {
    await mkdir(dirname(target), {recursive: true, mode: 0o700})
    await writeFileAtomic(target, `${JSON.stringify(doc, null, '\t')}\n`, dirname(target), 0o600)
  } catch (e) {
    throw new SlipwayError('environment', `cannot write ${describeFile(file)}: ${(e as Error).message}`, {hint: 'check the directory exists and is writable, or pass --auth-file', cause: e})
  }
}
