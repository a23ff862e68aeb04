import {randomUUID} from 'node:crypto'
import {Readable} from 'node:stream'

import pLimit from 'p-limit'

import {SlipwayError} from '../errors.js'
import {type Digest, sha256Digest} from '../oci/digest.js'
import {MediaType} from '../oci/media-types.js'
import {formatRef, type Repository, withDigest, withTag} from '../oci/ref.js'
import type {ImageManifest} from '../oci/types.js'
import {CATALOG_SCOPE, repoScope} from './auth/scope.js'
import {pushBlob} from './blobs.js'
import {isRegistryError, type RegistryError} from './errors.js'
import {drain} from './http.js'
import {deleteManifest, getManifest, headManifest, putManifest} from './manifests.js'
import {listAllPages} from './pagination.js'
import {apiPath} from './paths.js'
import type {Transport} from './transport.js'

/** Every tag of a repository (empty when the repository does not exist). */
export function listTags(t: Transport, repo: Repository): Promise<string[]> {
  return listAllPages(t, {
    registry: repo.registry, path: apiPath.tags(repo), field: 'tags', scopes: [repoScope(repo.path, 'pull')],
    what: `tags of ${repo.path}`, empty: [404],
  })
}

/** Every repository of a registry (`/v2/_catalog`); many registries refuse it. */
export function catalog(t: Transport, registry: string): Promise<string[]> {
  return listAllPages(t, {registry, path: apiPath.catalog(), field: 'repositories', scopes: [CATALOG_SCOPE], what: 'the catalog'})
}

export type DeleteTagResult = 'deleted-tag' | 'deleted-manifest' | 'repointed'

/** The `{}` blob OCI 1.1 defines for content-less configs. */
const EMPTY_JSON = Buffer.from('{}')
const EMPTY_DESCRIPTOR = {mediaType: MediaType.OciEmpty, digest: sha256Digest(EMPTY_JSON), size: EMPTY_JSON.length}
export const TOMBSTONE_ANNOTATION = 'io.slipway.tag-delete.nonce'

/**
 * Removes one tag and never another: the OCI 1.1 tag DELETE where the registry allows it; else the
 * manifest by digest when no other tag shares it; else the tag is moved to a unique throwaway manifest,
 * which is then deleted by digest.
 */
export async function deleteTag(t: Transport, repo: Repository, tag: string): Promise<DeleteTagResult> {
  const ref = withTag(repo, tag)
  try {
    const res = await t.request({
      registry: repo.registry, method: 'DELETE', path: apiPath.manifest(repo, tag), scopes: [repoScope(repo.path, 'delete')],
      ok: [200, 202, 204], what: `tag ${formatRef(ref)}`, retries: 1,
    })
    await drain(res.body)
    return 'deleted-tag'
  } catch (e) {
    if (!refusesTagDelete(e)) throw e
  }

  const head = await headManifest(t, ref)
  if (!head) throw new SlipwayError('not-found', `tag ${formatRef(ref)} not found`)
  if (!(await anyOtherTagOn(t, repo, tag, head.digest))) {
    await deleteManifest(t, repo, head.digest)
    return 'deleted-manifest'
  }

  const original = await getManifest(t, withDigest(repo, head.digest))
  const tombstone = await tombstoneManifest(t, repo)
  await putManifest(t, ref, tombstone, MediaType.OciManifest)
  try {
    await deleteManifest(t, repo, sha256Digest(tombstone))
  } catch (e) {
    // Put the tag back where it was rather than leave it on the throwaway manifest.
    await putManifest(t, ref, original.bytes, original.mediaType).catch(() => undefined)
    throw e
  }
  return 'repointed'
}

/** A registry that does not implement DELETE by tag (distribution 2.x answers 400 DIGEST_INVALID). */
function refusesTagDelete(e: unknown): e is RegistryError {
  if (!isRegistryError(e)) return false
  return [400, 404, 405, 501].includes(e.status) || e.codes.some((c) => ['UNSUPPORTED', 'DIGEST_INVALID', 'MANIFEST_UNKNOWN'].includes(c))
}

async function anyOtherTagOn(t: Transport, repo: Repository, tag: string, digest: Digest): Promise<boolean> {
  const others = (await listTags(t, repo)).filter((other) => other !== tag)
  const limit = pLimit(t.opts.jobs)
  let found = false
  await Promise.all(others.map((other) => limit(async () => {
    if (found) return
    const h = await headManifest(t, withTag(repo, other))
    if (h?.digest === digest) found = true
  })))
  return found
}

/** Uploads the empty config and returns a manifest no other tag can point at (a random annotation). */
async function tombstoneManifest(t: Transport, repo: Repository): Promise<Buffer> {
  await pushBlob(t, repo, EMPTY_DESCRIPTOR, () => Readable.from([EMPTY_JSON]))
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: EMPTY_DESCRIPTOR,
    layers: [],
    annotations: {[TOMBSTONE_ANNOTATION]: randomUUID()},
  }
  return Buffer.from(JSON.stringify(manifest))
}
