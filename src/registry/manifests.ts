import {SlipwayError} from '../errors.js'
import {type Digest, Digester, digestAlgorithm, isDigest, sha256Digest} from '../oci/digest.js'
import {MANIFEST_MEDIA_TYPES, MediaType} from '../oci/media-types.js'
import {formatRef, type Ref, type Repository, withDigest} from '../oci/ref.js'
import {repoScope} from './auth/scope.js'
import {garbageError} from './errors.js'
import {headNeedsConfirmation} from './head-checks.js'
import {discard, drain, header, readCapped} from './http.js'
import {apiPath} from './paths.js'
import type {Transport} from './transport.js'

export interface FetchedManifest {
  bytes: Buffer
  mediaType: string
  digest: Digest
}

export interface ManifestHead {
  digest: Digest
  mediaType: string
  size: number
}

const ACCEPT = MANIFEST_MEDIA_TYPES.join(', ')

function reference(ref: Ref): string {
  const r = ref.digest ?? ref.tag
  if (r === undefined) throw new SlipwayError('usage', `image reference ${formatRef(ref)} has neither tag nor digest`)
  return r
}

function contentType(value: string | undefined): string | undefined {
  return value?.split(';')[0]?.trim().toLowerCase() || undefined
}

/** Fetches a manifest; by digest the content must hash to that digest, by tag to the digest the registry reports. */
export async function getManifest(t: Transport, ref: Ref): Promise<FetchedManifest> {
  const subject = `manifest ${formatRef(ref)}`
  const max = t.opts.maxManifestBytes
  const res = await t.request({
    registry: ref.registry, method: 'GET', path: apiPath.manifest(ref, reference(ref)), headers: {accept: ACCEPT},
    scopes: [repoScope(ref.path, 'pull')], ok: [200], what: subject,
  })
  const declared = Number(header(res.headers, 'content-length'))
  const bytes = declared > max ? undefined : await readCapped(res.body, max)
  if (!bytes) {
    discard(res.body)
    throw new SlipwayError('registry', `${subject} on ${res.url.host} is larger than ${max} bytes`, {hint: 'Slipway refuses manifests this large'})
  }
  let digest: Digest
  if (ref.digest) {
    digest = hashAs(bytes, ref.digest)
    if (digest !== ref.digest) throw new SlipwayError('integrity', `${subject} from ${res.url.host} does not match its digest (got ${digest})`)
  } else {
    digest = sha256Digest(bytes)
    const reported = header(res.headers, 'docker-content-digest')
    if (reported && isDigest(reported) && hashAs(bytes, reported) !== reported) {
      throw new SlipwayError('integrity', `${subject} from ${res.url.host} does not match the digest ${reported} the registry reports`)
    }
  }
  return {bytes, digest, mediaType: mediaTypeOf(bytes, contentType(header(res.headers, 'content-type')), res.url.host, subject)}
}

function hashAs(bytes: Buffer, like: Digest): Digest {
  if (digestAlgorithm(like) === 'sha256') return sha256Digest(bytes)
  const d = new Digester(digestAlgorithm(like))
  d.update(bytes)
  return d.digest()
}

/** Checks the document is a manifest and says which kind: the Content-Type when known, else its mediaType field. */
function mediaTypeOf(bytes: Buffer, declared: string | undefined, host: string, subject: string): string {
  let doc: unknown
  try {
    doc = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw garbageError(host, subject, 'the manifest is not JSON')
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw garbageError(host, subject, 'the manifest is not a JSON object')
  const m = doc as {schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown; config?: unknown}
  if (m.schemaVersion !== 2) throw garbageError(host, subject, `unsupported manifest schemaVersion ${JSON.stringify(m.schemaVersion)}`)
  if (declared && MANIFEST_MEDIA_TYPES.includes(declared)) return declared
  if (typeof m.mediaType === 'string' && m.mediaType !== '') return m.mediaType
  if (Array.isArray(m.manifests)) return MediaType.OciIndex
  if (m.config && typeof m.config === 'object') return MediaType.OciManifest
  throw garbageError(host, subject, 'neither an image manifest nor an index')
}

/**
 * Digest, media type and size of a manifest without its body; undefined when it does not exist. A 404 from
 * a registry known to answer HEAD wrongly (head-checks.ts) is confirmed with a GET.
 */
export async function headManifest(t: Transport, ref: Ref): Promise<ManifestHead | undefined> {
  const subject = `manifest ${formatRef(ref)}`
  const res = await t.request({
    registry: ref.registry, method: 'HEAD', path: apiPath.manifest(ref, reference(ref)), headers: {accept: ACCEPT},
    scopes: [repoScope(ref.path, 'pull')], ok: [200, 404], what: subject,
  })
  await drain(res.body)
  if (res.status === 404) {
    if (!headNeedsConfirmation(ref.registry, t.opts.headConfirmRegistries)) return undefined
    try {
      const full = await getManifest(t, ref)
      return {digest: full.digest, mediaType: full.mediaType, size: full.bytes.length}
    } catch (e) {
      if (e instanceof SlipwayError && e.kind === 'not-found') return undefined
      throw e
    }
  }
  const reported = header(res.headers, 'docker-content-digest')
  const mediaType = contentType(header(res.headers, 'content-type'))
  const size = Number(header(res.headers, 'content-length'))
  if (reported && isDigest(reported) && mediaType && Number.isSafeInteger(size)) {
    if (ref.digest && reported !== ref.digest) throw new SlipwayError('integrity', `${res.url.host} reports digest ${reported} for ${subject}`)
    return {digest: reported, mediaType, size}
  }
  // Registries that do not say the digest on HEAD: read the manifest and hash it.
  const full = await getManifest(t, ref)
  return {digest: full.digest, mediaType: full.mediaType, size: full.bytes.length}
}

/** Uploads a manifest under a tag (or its digest) and returns its digest, checked against the registry's. */
export async function putManifest(t: Transport, ref: Ref, bytes: Buffer, mediaType: string): Promise<Digest> {
  const digest = sha256Digest(bytes)
  if (bytes.length > t.opts.maxManifestBytes) {
    throw new SlipwayError('registry', `manifest for ${formatRef(ref)} is ${bytes.length} bytes, more than the ${t.opts.maxManifestBytes} registries accept`)
  }
  if (ref.digest && ref.digest !== digest) {
    throw new SlipwayError('integrity', `manifest content for ${formatRef(ref)} hashes to ${digest}, not to the digest in the reference`)
  }
  const target = ref.tag ?? digest
  const subject = `manifest ${formatRef({registry: ref.registry, path: ref.path, tag: target})}`
  const res = await t.request({
    registry: ref.registry, method: 'PUT', path: apiPath.manifest(ref, target), body: bytes,
    headers: {'content-type': mediaType, 'content-length': String(bytes.length)},
    scopes: [repoScope(ref.path, 'pull', 'push')], ok: [200, 201, 202, 204], what: subject,
  })
  await drain(res.body)
  const reported = header(res.headers, 'docker-content-digest')
  if (reported && isDigest(reported) && digestAlgorithm(reported) === 'sha256' && reported !== digest) {
    throw new SlipwayError('integrity', `${res.url.host} stored ${subject} as ${reported}, but its content is ${digest}`)
  }
  return digest
}

/** Deletes a manifest by digest (and so every tag on it). False when it was not there. */
export async function deleteManifest(t: Transport, repo: Repository, digest: Digest): Promise<boolean> {
  const res = await t.request({
    registry: repo.registry, method: 'DELETE', path: apiPath.manifest(repo, digest),
    scopes: [repoScope(repo.path, 'delete')], ok: [200, 202, 204, 404], what: `manifest ${formatRef(withDigest(repo, digest))}`,
  })
  await drain(res.body)
  return res.status !== 404
}
