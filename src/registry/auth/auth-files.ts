import {homedir} from 'node:os'
import {join} from 'node:path'

/** One file logins may be in, as containers-auth.json(5) and docker name them. */
export interface AuthFile {
  path: string
  /** `docker` for docker's config.json (errors say "docker config"), `containers` for an auth.json. */
  kind: 'docker' | 'containers'
  /** ~/.dockercfg: a bare map of registry to entry, no `auths`, no helpers. */
  legacy: boolean
  /** How the file is named in "looked in …" lines: the variable that chose it, or the path with ~. */
  shown: string
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME || homedir()
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigFile(env: NodeJS.ProcessEnv): AuthFile {
  const path = env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(home(env), '.docker', 'config.json')
  return {path, kind: 'docker', legacy: false, shown: tilde(path, env)}
}

/**
 * The files read for credentials, in the order containers-auth.json(5) gives (and containers/image's
 * pkg/docker/config reads them): the primary file — `$REGISTRY_AUTH_FILE` when set (podman's and skopeo's
 * override), else `${XDG_RUNTIME_DIR}/containers/auth.json` (`/run/containers/$UID/auth.json` without
 * XDG_RUNTIME_DIR) — then `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`, docker's
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, and the legacy `~/.dockercfg`.
 */
export function authFiles(env: NodeJS.ProcessEnv): AuthFile[] {
  const h = home(env)
  const files: AuthFile[] = [primaryFile(env)]
  const xdgConfig = join(env.XDG_CONFIG_HOME || join(h, '.config'), 'containers', 'auth.json')
  files.push({path: xdgConfig, kind: 'containers', legacy: false, shown: tilde(xdgConfig, env)})
  files.push(dockerConfigFile(env))
  const legacy = join(h, '.dockercfg')
  files.push({path: legacy, kind: 'docker', legacy: true, shown: tilde(legacy, env)})
  return files
}

function primaryFile(env: NodeJS.ProcessEnv): AuthFile {
  if (env.REGISTRY_AUTH_FILE) return {path: env.REGISTRY_AUTH_FILE, kind: authFileKind(env.REGISTRY_AUTH_FILE), legacy: false, shown: `REGISTRY_AUTH_FILE=${env.REGISTRY_AUTH_FILE}`}
  const path = env.XDG_RUNTIME_DIR
    ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')
    : `/run/containers/${process.getuid?.() ?? 0}/auth.json`
  return {path, kind: 'containers', legacy: false, shown: tilde(path, env)}
}

/**
 * Where `registry login` writes and `registry logout` edits: `--auth-file` (or `$REGISTRY_AUTH_FILE`, which
 * the command reads into the same flag), else docker's config.json, which docker, crane and werf also read.
 */
export function loginFile(env: NodeJS.ProcessEnv, explicit?: string): AuthFile {
  if (!explicit) return dockerConfigFile(env)
  return {path: explicit, kind: authFileKind(explicit), legacy: false, shown: explicit}
}

/** A file named config.json is docker's format (Docker Hub under its v1 URL); anything else an auth.json. */
function authFileKind(path: string): AuthFile['kind'] {
  return /(^|\/)config\.json$/.test(path) ? 'docker' : 'containers'
}

function tilde(path: string, env: NodeJS.ProcessEnv): string {
  const h = home(env)
  return path.startsWith(`${h}/`) ? `~${path.slice(h.length)}` : path
}
