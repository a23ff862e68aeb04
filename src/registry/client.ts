import type {Digest} from '../oci/digest.js'
import type {Ref, Repository} from '../oci/ref.js'
import {drain} from './http.js'
import {type BlobInfo, type BlobSource, getBlob, type GetBlobOptions, headBlob, pushBlob, type PushBlobOptions, type PushBlobResult} from './blobs.js'
import {deleteManifest, type FetchedManifest, getManifest, headManifest, type ManifestHead, putManifest} from './manifests.js'
import {type RegistryClientOptions, resolveOptions, type ResolvedOptions} from './options.js'
import {catalog, deleteTag, type DeleteTagResult, listTags} from './tags.js'
import {Transport} from './transport.js'
import type {BlobBody} from './verified-stream.js'

export interface PingResult {
  /** `https://host/` or `http://host/`. */
  url: string
  /** What the registry asks for: nothing, basic credentials or bearer tokens. */
  auth: 'none' | 'basic' | 'bearer'
}

/**
 * An OCI distribution (v2) registry client over one shared undici connection pool. Every read is
 * verified against its digest; every failure is a SlipwayError (RegistryError for registry answers).
 */
export class RegistryClient {
  readonly options: ResolvedOptions
  private readonly transport: Transport

  constructor(opts: RegistryClientOptions = {}) {
    this.options = resolveOptions(opts)
    this.transport = new Transport(this.options)
  }

  /** Checks the registry answers the v2 API and that our credentials (if it wants any) are accepted. */
  async ping(registry: string): Promise<PingResult> {
    const res = await this.transport.request({registry, method: 'GET', path: '/v2/', scopes: [], ok: [200], what: 'the v2 API'})
    await drain(res.body)
    const scheme = this.transport.auth.scheme(registry)
    return {url: (await this.transport.baseUrl(registry)).href, auth: scheme ?? 'none'}
  }

  headBlob(repo: Repository, digest: Digest): Promise<{size: number} | undefined> {
    return headBlob(this.transport, repo, digest)
  }

  /**
   * The blob's bytes; the stream fails with SlipwayError('integrity') if they do not match `digest` (and
   * `size`). With `checkDigest: false` only the size is enforced: for consumers that hash the bytes anyway.
   */
  getBlob(repo: Repository, digest: Digest, opts: GetBlobOptions = {}): Promise<BlobBody> {
    return getBlob(this.transport, repo, digest, opts)
  }

  /** Uploads a blob unless present; `open` is called again for each attempt. */
  pushBlob(repo: Repository, blob: BlobInfo, open: BlobSource, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
    return pushBlob(this.transport, repo, blob, open, opts)
  }

  getManifest(ref: Ref): Promise<FetchedManifest> {
    return getManifest(this.transport, ref)
  }

  headManifest(ref: Ref): Promise<ManifestHead | undefined> {
    return headManifest(this.transport, ref)
  }

  putManifest(ref: Ref, bytes: Buffer, mediaType: string): Promise<Digest> {
    return putManifest(this.transport, ref, bytes, mediaType)
  }

  /** Deletes a manifest and every tag on it; false when it did not exist. */
  deleteManifest(repo: Repository, digest: Digest): Promise<boolean> {
    return deleteManifest(this.transport, repo, digest)
  }

  listTags(repo: Repository): Promise<string[]> {
    return listTags(this.transport, repo)
  }

  /** Deletes one tag without touching any other tag, whatever the registry supports. */
  deleteTag(repo: Repository, tag: string): Promise<DeleteTagResult> {
    return deleteTag(this.transport, repo, tag)
  }

  catalog(registry: string): Promise<string[]> {
    return catalog(this.transport, registry)
  }

  /** Bearer tokens fetched so far (they are cached per registry and scope). */
  get tokenFetches(): number {
    return this.transport.auth.tokenFetches
  }

  async close(): Promise<void> {
    await this.transport.close()
  }
}
