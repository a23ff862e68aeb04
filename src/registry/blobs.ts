import {Readable} from 'node:stream'

import {SlipwayError} from '../errors.js'
import type {Digest} from '../oci/digest.js'
import type {Repository} from '../oci/ref.js'
import {repoScope, type Scope} from './auth/scope.js'
import {garbageError, isRegistryError} from './errors.js'
import {headNeedsConfirmation} from './head-checks.js'
import {discard, drain, header, type HttpResponse} from './http.js'
import {apiPath} from './paths.js'
import {backoffMs, sleep} from './retry.js'
import type {Transport} from './transport.js'
import {type BlobBody, verifiedBlobStream} from './verified-stream.js'

export interface BlobInfo {
  digest: Digest
  size: number
  mediaType?: string
}

/** A blob's bytes for one upload attempt: a file stream, or another registry's verified body (a copy). */
export type BlobSource = () => BlobBody | Promise<BlobBody>

export interface PushBlobOptions {
  /** Repositories on the same registry that may hold the blob already (cross-repository mount). */
  mountFrom?: string[]
  onProgress?: (bytes: number) => void
  /** What to tell the user when the registry finds the content does not match its digest. */
  sourceHint?: string
}

export type PushBlobResult = 'exists' | 'mounted' | 'uploaded'

const what = (repo: Repository, digest: string) => `blob ${digest} in ${repo.path}`

/** The blob's size, or undefined when the repository does not have it (a HEAD; see head-checks.ts for the GET that confirms a 404). */
export async function headBlob(t: Transport, repo: Repository, digest: Digest): Promise<{size: number} | undefined> {
  const res = await t.request({
    registry: repo.registry, method: 'HEAD', path: apiPath.blob(repo, digest), scopes: [repoScope(repo.path, 'pull')],
    ok: [200, 404], what: what(repo, digest),
  })
  await drain(res.body)
  if (res.status === 404) return headNeedsConfirmation(repo.registry, t.opts.headConfirmRegistries) ? confirmBlob(t, repo, digest) : undefined
  const size = Number(header(res.headers, 'content-length'))
  if (!Number.isSafeInteger(size) || size < 0) throw garbageError(res.url.host, what(repo, digest), 'HEAD without Content-Length')
  return {size}
}

/** A GET of the blob's first byte: its size from Content-Range (or Content-Length when the range is ignored). */
async function confirmBlob(t: Transport, repo: Repository, digest: Digest): Promise<{size: number} | undefined> {
  const res = await t.request({
    registry: repo.registry, method: 'GET', path: apiPath.blob(repo, digest), headers: {range: 'bytes=0-0'}, scopes: [repoScope(repo.path, 'pull')],
    ok: [200, 206, 404], what: what(repo, digest),
  })
  discard(res.body)
  if (res.status === 404) return undefined
  const total = res.status === 206 ? /\/(\d+)$/.exec(header(res.headers, 'content-range') ?? '')?.[1] : header(res.headers, 'content-length')
  const size = Number(total)
  if (total === undefined || !Number.isSafeInteger(size) || size < 0) throw garbageError(res.url.host, what(repo, digest), 'GET without the blob\'s size')
  return {size}
}

/**
 * The blob's content, checked against its digest (and size when given) while it streams; a dropped
 * connection resumes with a Range request.
 */
export interface GetBlobOptions {
  size?: number
  onProgress?: (bytes: number) => void
  /** false when the consumer checks the digest itself (see VerifyOptions.checkDigest). Default true. */
  checkDigest?: boolean
}

export async function getBlob(t: Transport, repo: Repository, digest: Digest, opts: GetBlobOptions = {}): Promise<BlobBody> {
  const base = {registry: repo.registry, method: 'GET', path: apiPath.blob(repo, digest), scopes: [repoScope(repo.path, 'pull')], what: what(repo, digest)}
  const first = await t.request({...base, ok: [200]})
  return verifiedBlobStream({body: first.body, skip: 0}, {
    digest,
    ...(opts.size === undefined ? {} : {size: opts.size}),
    host: first.url.host,
    maxResumes: t.opts.retries,
    ...(opts.onProgress ? {onProgress: opts.onProgress} : {}),
    ...(opts.checkDigest === false ? {checkDigest: false} : {}),
    resume: async (offset) => {
      const res = await t.request({...base, headers: {range: `bytes=${offset}-`}, ok: [200, 206]})
      if (res.status === 200) return {body: res.body, skip: offset}
      const start = /^bytes\s+(\d+)-/.exec(header(res.headers, 'content-range') ?? '')?.[1]
      if (start === undefined || Number(start) !== offset) {
        discard(res.body)
        throw garbageError(res.url.host, what(repo, digest), `asked for bytes from ${offset}, got Content-Range "${header(res.headers, 'content-range') ?? ''}"`)
      }
      return {body: res.body, skip: 0}
    },
  })
}

/**
 * Uploads a blob unless the registry has it: HEAD, then a mount from each `mountFrom` repository, then
 * a monolithic PUT (small blobs) or PATCH chunks. A failed upload starts over from a fresh `open()`.
 */
export async function pushBlob(t: Transport, repo: Repository, blob: BlobInfo, open: BlobSource, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
  if (await headBlob(t, repo, blob.digest)) return 'exists'
  let location: URL | undefined
  for (const from of opts.mountFrom ?? []) {
    if (from === repo.path) continue
    const res = await t.request({
      registry: repo.registry, method: 'POST', path: apiPath.uploads(repo), query: {mount: blob.digest, from},
      scopes: [repoScope(repo.path, 'pull', 'push'), repoScope(from, 'pull')], ok: [201, 202], what: what(repo, blob.digest),
    })
    await drain(res.body)
    if (res.status === 201) return 'mounted'
    location = uploadLocation(res, what(repo, blob.digest))
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await upload(t, repo, blob, open, location, opts.onProgress)
      return 'uploaded'
    } catch (e) {
      const damaged = damagedSource(e, repo, blob)
      if (damaged) throw opts.sourceHint ? new SlipwayError('integrity', damaged.message, {cause: e, hint: opts.sourceHint}) : damaged
      const retryable = (isRegistryError(e) && e.temporary) || (e instanceof SlipwayError && e.kind === 'network') || isRegistryError(e) && e.codes.includes('BLOB_UPLOAD_UNKNOWN')
      if (!retryable || attempt >= t.opts.retries) throw e
      location = undefined
      await sleep(backoffMs(attempt, t.opts.retryBaseMs), t.opts.signal)
      if (await headBlob(t, repo, blob.digest)) return 'uploaded'
    }
  }
}

/** The upload failed because the source's bytes are not the blob they claim to be (wrong size, or the registry's hash differs). */
function damagedSource(e: unknown, repo: Repository, blob: BlobInfo): SlipwayError | undefined {
  if (isRegistryError(e) && e.codes.includes('DIGEST_INVALID')) {
    return new SlipwayError('integrity', `the registry refused ${what(repo, blob.digest)}: the content sent does not hash to its digest`, {cause: e})
  }
  if (e instanceof SlipwayError && e.kind === 'integrity') return e
  const cause = (e as {cause?: unknown} | undefined)?.cause
  return cause instanceof SlipwayError && cause.kind === 'integrity' ? cause : undefined
}

function uploadLocation(res: HttpResponse, subject: string): URL {
  const loc = header(res.headers, 'location')
  if (!loc) throw garbageError(res.url.host, subject, 'upload answer without Location')
  return new URL(loc, res.url)
}

async function upload(t: Transport, repo: Repository, blob: BlobInfo, open: BlobSource, location: URL | undefined, onProgress?: (bytes: number) => void): Promise<void> {
  const subject = what(repo, blob.digest)
  const scopes: Scope[] = [repoScope(repo.path, 'pull', 'push')]
  const common = {registry: repo.registry, scopes, what: subject}
  let minChunk = 0
  if (!location) {
    const res = await t.request({...common, method: 'POST', path: apiPath.uploads(repo), ok: [202]})
    await drain(res.body)
    location = uploadLocation(res, subject)
    minChunk = Number(header(res.headers, 'oci-chunk-min-length') ?? 0) || 0
  }
  const finish = (loc: URL, body: Parameters<Transport['request']>[0]['body'], length: number) => {
    const url = new URL(loc)
    url.searchParams.set('digest', blob.digest)
    return t.request({
      ...common, method: 'PUT', path: url.href, body, retries: 0, ok: [201, 204],
      headers: {'content-type': 'application/octet-stream', 'content-length': String(length)},
    })
  }

  if (blob.size < t.opts.monolithicUploadMax) {
    const res = await finish(location, async () => Readable.from(counted(await open(), blob, onProgress)), blob.size)
    await checkUploaded(res, blob, subject)
    return
  }

  const chunkSize = Math.max(t.opts.chunkSize, minChunk)
  const source = await open()
  let offset = 0
  try {
    for await (const chunk of rechunk(source, chunkSize)) {
      const res = await t.request({
        ...common, method: 'PATCH', path: location.href, body: chunk, retries: 0, ok: [202],
        headers: {'content-type': 'application/octet-stream', 'content-length': String(chunk.length), 'content-range': `${offset}-${offset + chunk.length - 1}`},
      })
      await drain(res.body)
      location = uploadLocation(res, subject)
      offset += chunk.length
      onProgress?.(offset)
    }
  } finally {
    source.destroy()
  }
  if (offset !== blob.size) {
    throw new SlipwayError('integrity', `the content of ${subject} has ${offset} bytes, expected ${blob.size}`)
  }
  await checkUploaded(await finish(location, Buffer.alloc(0), 0), blob, subject)
}

async function checkUploaded(res: HttpResponse, blob: BlobInfo, subject: string): Promise<void> {
  await drain(res.body)
  const reported = header(res.headers, 'docker-content-digest')
  if (reported && reported !== blob.digest) {
    throw new SlipwayError('integrity', `${res.url.host} stored ${subject} under digest ${reported}`)
  }
}

/** Counts bytes of a request body for progress reports. */
async function* counted(source: BlobBody, blob: BlobInfo, onProgress?: (bytes: number) => void): AsyncGenerator<Buffer> {
  let n = 0
  try {
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      n += buf.length
      if (n > blob.size) throw new SlipwayError('integrity', `the content of blob ${blob.digest} is larger than ${blob.size} bytes`)
      onProgress?.(n)
      yield buf
    }
    if (n !== blob.size) throw new SlipwayError('integrity', `the content of blob ${blob.digest} has ${n} bytes, expected ${blob.size}`)
  } finally {
    source.destroy()
  }
}

/** Regroups a stream into buffers of exactly `size` bytes (the last one shorter). */
export async function* rechunk(source: AsyncIterable<Buffer | string>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = []
  let have = 0
  for await (const raw of source) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw
    while (have + chunk.length >= size) {
      const take = size - have
      parts.push(chunk.subarray(0, take))
      yield Buffer.concat(parts)
      parts = []
      have = 0
      chunk = chunk.subarray(take)
    }
    if (chunk.length > 0) {
      parts.push(chunk)
      have += chunk.length
    }
  }
  if (have > 0) yield Buffer.concat(parts)
}
