import {readFileSync} from 'node:fs'
import {open, readdir, readFile, stat} from 'node:fs/promises'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {join} from 'node:path'

/**
 * What went over the wire to and from a real registry (./registry.ts), counted from the registry's side:
 * its access log (distribution's combined log lines: method, URI, status, response bytes) and its
 * filesystem storage. The log has no request sizes, so an upload counts the size of the blob it completed
 * (a `PUT …/blobs/uploads/…?digest=D` answered 201: the registry checked that what it received hashes to
 * D, so it received exactly D's bytes). Uploads that never complete count nothing.
 *
 *   const mark = await markTraffic(reg)
 *   await runSlipway([...])
 *   const traffic = await registryTraffic(reg, mark)   // only what happened after the mark
 *
 * Go's logging handler writes a line after the response has gone out, so a client can finish before its
 * last line is in the file. Marks and reads therefore send a sentinel request (`GET /v2/?traffic-mark=N`)
 * and wait for its line: by then the lines of every request answered before it are written.
 */

/** The parts of a registry this reads; a TestRegistry has them. */
export interface TrafficSource {
  url: string
  logFile: string
  storageDir: string
  caFile?: string
}

/** One request line of the access log. */
export interface AccessLogEntry {
  method: string
  /** The path, percent-decoded, without the query. */
  path: string
  /** The query, percent-decoded. */
  query: Record<string, string>
  status: number
  /** Response body bytes the registry wrote. */
  bytes: number
  userAgent: string
}

export interface BlobTraffic {
  gets: number
  heads: number
  bytesDownloaded: number
  /** Completed uploads of this blob. */
  uploads: number
  bytesUploaded: number
  /** Cross-repository mounts of this blob the registry did (201). */
  mounts: number
}

export interface RegistryTraffic {
  /** Requests under /v2/ (sentinels left out). */
  requests: number
  manifestGets: number
  manifestHeads: number
  manifestPuts: number
  manifestBytesDownloaded: number
  blobGets: number
  blobHeads: number
  tagLists: number
  /** Uploads started with a POST without `mount` (a POST with `mount` the registry refused counts here too). */
  uploadsStarted: number
  /** Completed blob uploads. */
  uploads: number
  mounts: number
  /** Mount requests the registry answered with a new upload (202) instead of a mount. */
  mountsRefused: number
  /** Body bytes of blob GETs answered 200/206: layers and configs. */
  blobBytesDownloaded: number
  /** Of those, the blobs that are layers of some manifest the registry stores. */
  layerBytesDownloaded: number
  blobBytesUploaded: number
  layerBytesUploaded: number
  /** Layer digests fetched with a GET (sorted, each once). */
  layersDownloaded: string[]
  /** Layer digests uploaded (sorted, each once; `blobs[d].uploads` says how often). */
  layersUploaded: string[]
  blobs: Record<string, BlobTraffic>
  entries: AccessLogEntry[]
}

/** A point in the registry's access log: the byte offset just past a sentinel line. */
export interface TrafficMark {
  offset: number
}

// 127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /v2/x/y/blobs/sha256:50b6… HTTP/1.1" 200 12345 "" "node"
const COMBINED_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "([A-Z]+) (\S+) [^"]*" (\d{3}) (\d+|-) "[^"]*" "([^"]*)"/
const SENTINEL_PARAM = 'traffic-mark'
const DIGEST = /^sha256:[a-f0-9]{64}$/

/** The request lines of an access log; distribution's other log lines (time="…" level=…) are skipped. */
export function parseAccessLog(text: string): AccessLogEntry[] {
  const entries: AccessLogEntry[] = []
  for (const line of text.split('\n')) {
    const m = COMBINED_LINE.exec(line)
    if (!m) continue
    const uri = new URL(m[2], 'http://registry')
    entries.push({
      method: m[1],
      path: decodeURIComponent(uri.pathname),
      query: Object.fromEntries(uri.searchParams),
      status: Number(m[3]),
      bytes: m[4] === '-' ? 0 : Number(m[4]),
      userAgent: m[5],
    })
  }
  return entries
}

/** What the counting needs to know about blobs beyond the log: their sizes and which ones are layers. */
export interface BlobFacts {
  sizeOf(digest: string): number | undefined
  isLayer(digest: string): boolean
}

const BLOB_PATH = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/
const UPLOAD_PATH = /^\/v2\/.+\/blobs\/uploads\/[^/]*$/
const MANIFEST_PATH = /^\/v2\/.+\/manifests\/[^/]+$/
const TAGS_PATH = /^\/v2\/.+\/tags\/list$/

/** Counts the entries: per kind of request, and per blob digest. */
export function summarizeTraffic(entries: AccessLogEntry[], facts: BlobFacts): RegistryTraffic {
  const t: RegistryTraffic = {
    requests: 0, manifestGets: 0, manifestHeads: 0, manifestPuts: 0, manifestBytesDownloaded: 0, blobGets: 0, blobHeads: 0, tagLists: 0,
    uploadsStarted: 0, uploads: 0, mounts: 0, mountsRefused: 0,
    blobBytesDownloaded: 0, layerBytesDownloaded: 0, blobBytesUploaded: 0, layerBytesUploaded: 0,
    layersDownloaded: [], layersUploaded: [], blobs: {}, entries: [],
  }
  const blob = (digest: string): BlobTraffic => (t.blobs[digest] ??= {gets: 0, heads: 0, bytesDownloaded: 0, uploads: 0, bytesUploaded: 0, mounts: 0})
  const downloadedLayers = new Set<string>()
  const uploadedLayers = new Set<string>()
  for (const e of entries) {
    if (!e.path.startsWith('/v2/') || e.query[SENTINEL_PARAM] !== undefined) continue
    t.requests++
    t.entries.push(e)
    const ok = e.status >= 200 && e.status < 300
    const blobPath = BLOB_PATH.exec(e.path)
    if (blobPath) {
      const digest = blobPath[1]
      if (e.method === 'HEAD') {
        t.blobHeads++
        blob(digest).heads++
      } else if (e.method === 'GET') {
        t.blobGets++
        blob(digest).gets++
        if (ok) {
          blob(digest).bytesDownloaded += e.bytes
          t.blobBytesDownloaded += e.bytes
          if (facts.isLayer(digest)) {
            t.layerBytesDownloaded += e.bytes
            downloadedLayers.add(digest)
          }
        }
      }
    } else if (UPLOAD_PATH.test(e.path)) {
      const mount = e.query.mount
      if (e.method === 'POST' && mount !== undefined && e.status === 201) {
        t.mounts++
        blob(mount).mounts++
      } else if (e.method === 'POST') {
        t.uploadsStarted++
        if (mount !== undefined) t.mountsRefused++
      } else if (e.method === 'PUT' && e.status === 201 && DIGEST.test(e.query.digest ?? '')) {
        const digest = e.query.digest
        const size = facts.sizeOf(digest) ?? 0
        t.uploads++
        blob(digest).uploads++
        blob(digest).bytesUploaded += size
        t.blobBytesUploaded += size
        if (facts.isLayer(digest)) {
          t.layerBytesUploaded += size
          uploadedLayers.add(digest)
        }
      }
    } else if (MANIFEST_PATH.test(e.path)) {
      if (e.method === 'GET') {
        t.manifestGets++
        if (ok) t.manifestBytesDownloaded += e.bytes
      } else if (e.method === 'HEAD') t.manifestHeads++
      else if (e.method === 'PUT') t.manifestPuts++
    } else if (TAGS_PATH.test(e.path) && e.method === 'GET') t.tagLists++
  }
  t.layersDownloaded = [...downloadedLayers].sort()
  t.layersUploaded = [...uploadedLayers].sort()
  return t
}

// --- the registry's filesystem storage (distribution's layout under docker/registry/v2) ---------------

const V2 = ['docker', 'registry', 'v2']

function blobDataPath(storageDir: string, digest: string): string {
  const hex = digest.slice('sha256:'.length)
  return join(storageDir, ...V2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data')
}

async function readStoredBlob(storageDir: string, digest: string): Promise<Buffer | undefined> {
  try {
    return await readFile(blobDataPath(storageDir, digest))
  } catch {
    return undefined
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(s => s.isDirectory(), () => false)
}

/** Every repository of the storage (names may hold '/': nested directories up to the one with `_manifests`). */
async function storedRepositories(storageDir: string): Promise<string[]> {
  const root = join(storageDir, ...V2, 'repositories')
  const found: string[] = []
  const walk = async (rel: string): Promise<void> => {
    const names = await readdir(join(root, rel)).catch(() => [] as string[])
    if (names.includes('_manifests')) found.push(rel)
    for (const n of names) if (!n.startsWith('_') && (await isDirectory(join(root, rel, n)))) await walk(rel ? `${rel}/${n}` : n)
  }
  await walk('')
  return found.sort()
}

interface StoredManifest {
  config?: {digest: string; size: number}
  layers?: {digest: string; size: number}[]
  manifests?: {digest: string}[]
}

/** The manifest a repository's tag (or digest) points at, read from the storage: no request is sent. */
export async function storedManifest(reg: TrafficSource, repoPath: string, reference: string): Promise<StoredManifest & {digest: string}> {
  const repoDir = join(reg.storageDir, ...V2, 'repositories', repoPath, '_manifests')
  const digest = DIGEST.test(reference) ? reference : (await readFile(join(repoDir, 'tags', reference, 'current', 'link'), 'utf8').catch(() => '')).trim()
  const bytes = digest ? await readStoredBlob(reg.storageDir, digest) : undefined
  if (!bytes) throw new Error(`${repoPath}:${reference} is not in the registry's storage`)
  return {...(JSON.parse(bytes.toString('utf8')) as StoredManifest), digest}
}

/** Tags of a repository, read from the storage. */
export async function storedTags(reg: TrafficSource, repoPath: string): Promise<string[]> {
  return (await readdir(join(reg.storageDir, ...V2, 'repositories', repoPath, '_manifests', 'tags')).catch(() => [] as string[])).sort()
}

/** Layer digests of every manifest any repository of the registry stores. */
async function storedLayerDigests(storageDir: string): Promise<Set<string>> {
  const layers = new Set<string>()
  for (const repo of await storedRepositories(storageDir)) {
    const revisions = join(storageDir, ...V2, 'repositories', repo, '_manifests', 'revisions', 'sha256')
    for (const hex of await readdir(revisions).catch(() => [] as string[])) {
      const bytes = await readStoredBlob(storageDir, `sha256:${hex}`)
      if (!bytes) continue
      try {
        for (const l of (JSON.parse(bytes.toString('utf8')) as StoredManifest).layers ?? []) layers.add(l.digest)
      } catch {
        // not JSON: not a manifest we can read layers from
      }
    }
  }
  return layers
}

async function storedBlobFacts(storageDir: string): Promise<BlobFacts> {
  const layers = await storedLayerDigests(storageDir)
  const sizes = new Map<string, number | undefined>()
  return {
    sizeOf(digest) {
      if (!sizes.has(digest)) {
        try {
          sizes.set(digest, readFileSync(blobDataPath(storageDir, digest)).length)
        } catch {
          sizes.set(digest, undefined)
        }
      }
      return sizes.get(digest)
    },
    isLayer: digest => layers.has(digest),
  }
}

/** The summed sizes of the distinct layers of a repository's manifests whose tag starts with `tagPrefix`. */
export async function storedLayerBytes(reg: TrafficSource, repoPath: string, tagPrefix = ''): Promise<number> {
  const layers = new Map<string, number>()
  for (const tag of await storedTags(reg, repoPath)) {
    if (!tag.startsWith(tagPrefix)) continue
    for (const l of (await storedManifest(reg, repoPath, tag)).layers ?? []) layers.set(l.digest, l.size)
  }
  return [...layers.values()].reduce((a, b) => a + b, 0)
}

// --- marks -----------------------------------------------------------------------------------------------

let sentinels = 0

function sendSentinel(reg: TrafficSource, id: string): Promise<void> {
  const url = `${reg.url}/v2/?${SENTINEL_PARAM}=${id}`
  const ca = reg.caFile ? readFileSync(reg.caFile) : undefined
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest
    const req = request(url, {method: 'GET', ca}, res => {
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end()
  })
}

async function readFrom(file: string, offset: number): Promise<string> {
  const fh = await open(file, 'r')
  try {
    const {size} = await fh.stat()
    const buffer = Buffer.alloc(Math.max(0, size - offset))
    await fh.read(buffer, 0, buffer.length, offset)
    return buffer.toString('utf8')
  } finally {
    await fh.close()
  }
}

/** Sends a sentinel and waits for its line; returns the log text from `offset` up to that line, and the offset past it. */
async function readUpToSentinel(reg: TrafficSource, offset: number): Promise<{text: string; end: number}> {
  const id = `${process.pid}-${++sentinels}`
  await sendSentinel(reg, id)
  const needle = `${SENTINEL_PARAM}=${id} `
  for (let waited = 0; ; waited += 10) {
    const text = await readFrom(reg.logFile, offset)
    const at = text.indexOf(needle)
    if (at >= 0) {
      const lineEnd = text.indexOf('\n', at)
      const upTo = lineEnd < 0 ? text.length : lineEnd + 1
      return {text: text.slice(0, upTo), end: offset + Buffer.byteLength(text.slice(0, upTo))}
    }
    if (waited > 10_000) throw new Error(`the registry's access log (${reg.logFile}) never showed the sentinel request ${id}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/** Marks the current end of the registry's traffic; pass it to registryTraffic to count only what follows. */
export async function markTraffic(reg: TrafficSource): Promise<TrafficMark> {
  const {end} = await readUpToSentinel(reg, (await stat(reg.logFile)).size)
  return {offset: end}
}

/** The registry's traffic since `since` (default: since it started). */
export async function registryTraffic(reg: TrafficSource, since?: TrafficMark): Promise<RegistryTraffic> {
  const {text} = await readUpToSentinel(reg, since?.offset ?? 0)
  return summarizeTraffic(parseAccessLog(text), await storedBlobFacts(reg.storageDir))
}

/** Runs `fn` and returns its result with the registry traffic it caused. */
export async function measureTraffic<T>(reg: TrafficSource, fn: () => Promise<T>): Promise<{result: T; traffic: RegistryTraffic}> {
  const mark = await markTraffic(reg)
  const result = await fn()
  return {result, traffic: await registryTraffic(reg, mark)}
}
