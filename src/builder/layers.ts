import {abortError} from '../abort-error.js'
import {extractLayer, type LayerBlob, type LayerStream} from '../layer/index.js'
import {SlipwayError} from '../errors.js'
import type {ImageParts} from '../image/index.js'
import type {Descriptor} from '../oci/types.js'
import type {Lease, OciStore} from '../store/index.js'

/** Unpacks layers, in order, from the store into `root`. */
export async function extractLayers(store: OciStore, layers: readonly Descriptor[], root: string, signal?: AbortSignal): Promise<void> {
  for (const layer of layers) {
    await extractLayer(await store.openBlob(layer.digest), root, {label: layer.digest, ...(signal ? {signal} : {})})
  }
}

/** Unpacks every layer of the image, in order, from the store into `root`. */
export function extractImage(store: OciStore, image: ImageParts, root: string, signal?: AbortSignal): Promise<void> {
  return extractLayers(store, image.manifest.layers, root, signal)
}

/**
 * Streams a layer into the store and returns its blob facts, checking the writer's and the store's digests
 * agree. An abort destroys the layer stream: its compression stops, and the store removes the temp blob.
 */
export async function storeLayer(store: OciStore, lease: Lease, layer: LayerStream, signal?: AbortSignal): Promise<LayerBlob> {
  const stop = (): void => {
    layer.stream.destroy(abortError(signal!, 'writing the layer'))
  }
  if (signal?.aborted) stop()
  signal?.addEventListener('abort', stop, {once: true})
  try {
    const [written, blob] = await consumeLayer(store.writeBlob(layer.stream, {}, lease), layer.done)
    if (written.digest !== blob.digest || written.size !== blob.size) {
      throw new SlipwayError('internal', `layer digest mismatch: wrote ${written.digest}, computed ${blob.digest}`)
    }
    return blob
  } finally {
    signal?.removeEventListener('abort', stop)
  }
}

/**
 * Waits for a layer stream's consumer and its producer. When one fails, its error is the one thrown: a
 * consumer that stops (a full disk, a hostile entry) destroys the stream, and the producer then only
 * reports AbortError; a producer that fails makes the consumer read its error from the stream.
 */
export async function consumeLayer<C, P>(consuming: Promise<C>, producing: Promise<P>): Promise<[C, P]> {
  const [c, p] = await Promise.allSettled([consuming, producing])
  if (c.status === 'rejected') throw c.reason
  if (p.status === 'rejected') throw p.reason
  return [c.value, p.value]
}
