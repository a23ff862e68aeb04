import {SlipwayError} from '../errors.js'
import {type Digest, isDigest} from './digest.js'

/**
 * Image references, parsed once at the edge with docker's defaults:
 * `busybox` → docker.io/library/busybox:latest, `localhost:5000/x` keeps its registry.
 */
export const DEFAULT_REGISTRY = 'docker.io'
/** docker.io's API lives on another host. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io'

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?$`)
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG_RE = /^[\w][\w.-]{0,127}$/
const MAX_NAME_LENGTH = 255

export interface Repository {
  /** Host (and port) as written, `docker.io` for the default. */
  readonly registry: string
  /** Path within the registry, e.g. `library/busybox`. */
  readonly path: string
}

export interface Ref extends Repository {
  readonly tag?: string
  readonly digest?: Digest
}

export class BadReferenceError extends SlipwayError {
  constructor(input: string, why: string) {
    super('usage', `invalid image reference "${input}": ${why}`, {
      hint: 'expected [HOST[:PORT]/]PATH[:TAG][@sha256:DIGEST], e.g. localhost:5000/app:1.0',
    })
  }
}

function splitDomain(input: string, name: string): {registry: string; path: string} {
  const slash = name.indexOf('/')
  const first = slash === -1 ? '' : name.slice(0, slash)
  if (slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!DOMAIN_RE.test(first)) throw new BadReferenceError(input, `"${first}" is not a valid registry host`)
    const path = name.slice(slash + 1)
    return {registry: first === 'index.docker.io' ? DEFAULT_REGISTRY : first, path}
  }
  return {registry: DEFAULT_REGISTRY, path: name}
}

function checkPath(input: string, registry: string, path: string): string {
  if (path === '') throw new BadReferenceError(input, 'the repository path is empty')
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) {
      throw new BadReferenceError(input, `"${component}" is not a valid path component (lower-case letters, digits and . _ - separators)`)
    }
  }
  if (registry === DEFAULT_REGISTRY && !path.includes('/')) path = `library/${path}`
  if (`${registry}/${path}`.length > MAX_NAME_LENGTH) throw new BadReferenceError(input, `longer than ${MAX_NAME_LENGTH} characters`)
  return path
}

export function parseRef(input: string): Ref {
  const s = input.trim()
  if (s === '') throw new BadReferenceError(input, 'it is empty')
  let rest = s
  let digest: Digest | undefined
  const at = rest.indexOf('@')
  if (at !== -1) {
    const d = rest.slice(at + 1)
    if (!isDigest(d)) throw new BadReferenceError(input, `"${d}" is not a valid digest`)
    digest = d
    rest = rest.slice(0, at)
  }
  let tag: string | undefined
  const lastColon = rest.lastIndexOf(':')
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1)
    if (!TAG_RE.test(tag)) throw new BadReferenceError(input, `"${tag}" is not a valid tag`)
    rest = rest.slice(0, lastColon)
  }
  const {registry, path} = splitDomain(input, rest)
  const fullPath = checkPath(input, registry, path)
  return {registry, path: fullPath, ...(tag === undefined ? {} : {tag}), ...(digest === undefined ? {} : {digest})}
}

/** A reference with a tag: `latest` when neither tag nor digest was given. */
export function parseImageRef(input: string): Ref {
  const ref = parseRef(input)
  return ref.tag === undefined && ref.digest === undefined ? {...ref, tag: 'latest'} : ref
}

/** A repository (the REPO argument of dimg commands): no tag, no digest. */
export function parseRepository(input: string): Repository {
  const ref = parseRef(input)
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new BadReferenceError(input, 'a repository is expected here, without :TAG or @DIGEST')
  }
  return {registry: ref.registry, path: ref.path}
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag)
}

/** The host the HTTP API is on. */
export function apiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DOCKER_HUB_API_HOST : registry
}

export function repositoryName(repo: Repository): string {
  return `${repo.registry}/${repo.path}`
}

export function formatRef(ref: Ref): string {
  return `${repositoryName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`
}

export function withTag(repo: Repository, tag: string): Ref {
  return {registry: repo.registry, path: repo.path, tag}
}

export function withDigest(repo: Repository, digest: Digest): Ref {
  return {registry: repo.registry, path: repo.path, digest}
}

/** Whether the registry may be spoken to over plain HTTP. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.split(':')[0]
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
