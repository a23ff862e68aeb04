/** Streams a deterministic layer tar from entries that are already in layer order, hashing the uncompressed
 *  tar (diffId) and the blob (digest) on the way. Nothing is buffered beyond one chunk, or beyond the
 *  window of 1 MiB chunks that parallel gzip is deflating. */
import {Readable, Transform, type TransformCallback} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {SlipwayError} from '../errors.js'
import {Digester, type Digest} from '../oci/digest.js'
import {MediaType} from '../oci/media-types.js'
import {parallelGzip} from './parallel-gzip.js'
import {END_OF_ARCHIVE, encodeTarHeader, paddingFor, type TarHeader} from './tar-header.js'

export type LayerCompression = 'gzip' | 'none'

export interface LayerEntry extends TarHeader {
  /** File content, exactly `size` bytes; only for `type: 'file'`. */
  content?: () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>
}

export interface LayerBlob {
  digest: Digest // of the blob as written (compressed when gzip)
  diffId: Digest // of the uncompressed tar
  size: number // blob bytes
  mediaType: string
}

export interface LayerStream {
  stream: Readable
  /** Resolves once `stream` has been read to its end; rejects if producing it failed. */
  done: Promise<LayerBlob>
}

export interface PackOptions {
  compression?: LayerCompression // default gzip
}

async function* tarChunks(entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>): AsyncGenerator<Buffer> {
  for await (const entry of entries) {
    const size = entry.type === 'file' ? entry.size : 0
    yield encodeTarHeader({...entry, size})
    if (size === 0) continue
    if (!entry.content) throw new SlipwayError('internal', `layer entry ${entry.path} has no content`)
    let written = 0
    for await (const chunk of entry.content()) {
      const buf = chunk as Buffer
      if (written + buf.length > size) {
        yield buf.subarray(0, size - written)
        written = size
        break
      }
      written += buf.length
      yield buf
    }
    if (written !== size) {
      throw new SlipwayError('build', `file /${entry.path} changed while its layer was written (expected ${size} bytes, read ${written})`, {
        hint: 'make sure no other process writes into the build root while a layer is created',
      })
    }
    const pad = paddingFor(size)
    if (pad) yield Buffer.alloc(pad)
  }
  yield END_OF_ARCHIVE
}

function hashing(digester: Digester): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      digester.update(chunk)
      cb(null, chunk)
    },
  })
}

export function packLayer(entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>, options: PackOptions = {}): LayerStream {
  const compression = options.compression ?? 'gzip'
  const tar = Readable.from(tarChunks(entries), {objectMode: false})
  const diffIdDigester = new Digester()
  const blobDigester = new Digester()
  const stages: NodeJS.ReadWriteStream[] = [hashing(diffIdDigester)]
  if (compression === 'gzip') stages.push(parallelGzip(), hashing(blobDigester))

  let stream: Readable = tar
  const all: (Readable | NodeJS.ReadWriteStream)[] = [tar, ...stages]
  for (const s of stages) stream = (stream.pipe(s as Transform) as Readable)
  const out = stream

  const done = new Promise<LayerBlob>((resolve, reject) => {
    let failed = false
    const fail = (err: Error): void => {
      if (failed) return
      failed = true
      for (const s of all) if (s !== out) (s as Readable).destroy?.()
      out.destroy(err)
      reject(err)
    }
    for (const s of all) if (s !== out) (s as Readable).on('error', fail)
    out.on('error', fail)
    out.on('end', () => {
      const diffId = diffIdDigester.digest()
      if (compression === 'gzip') {
        resolve({digest: blobDigester.digest(), diffId, size: blobDigester.size, mediaType: MediaType.OciLayerGzip})
      } else {
        resolve({digest: diffId, diffId, size: diffIdDigester.size, mediaType: MediaType.OciLayer})
      }
    })
  })
  done.catch(() => {}) // callers that only consume the stream see the error there
  return {stream: out, done}
}

/** Reads a layer stream to its end into a sink (a file, a store upload) and returns its descriptor data. */
export async function drainLayer(layer: LayerStream, sink: NodeJS.WritableStream): Promise<LayerBlob> {
  await pipeline(layer.stream, sink)
  return layer.done
}
