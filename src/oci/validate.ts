import {isDigest} from './digest.js'
import type {Descriptor} from './types.js'

/**
 * Structural checks of manifests read from outside: what a reader relies on (descriptors with a digest,
 * a size and a media type; a config and a layer list, or a manifest list) must be there and well-formed.
 * Returns the problem as a phrase, or undefined when the document is usable.
 */
function descriptorProblem(d: unknown, where: string): string | undefined {
  if (typeof d !== 'object' || d === null) return `${where} is not an object`
  const desc = d as Partial<Descriptor>
  if (typeof desc.digest !== 'string' || !isDigest(desc.digest)) return `${where} has no valid digest`
  if (typeof desc.size !== 'number' || !Number.isSafeInteger(desc.size) || desc.size < 0) return `${where} has no valid size`
  if (typeof desc.mediaType !== 'string' || desc.mediaType === '') return `${where} has no media type`
  return undefined
}

export function manifestProblem(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'it is not a JSON object'
  const m = doc as Record<string, unknown>
  if (m.schemaVersion !== 2) return `schemaVersion is ${JSON.stringify(m.schemaVersion)}, not 2`
  if (Array.isArray(m.manifests)) {
    for (const [i, d] of m.manifests.entries()) {
      const p = descriptorProblem(d, `manifests[${i}]`)
      if (p) return p
    }
    return undefined
  }
  const config = descriptorProblem(m.config, 'config')
  if (config) return config
  if (!Array.isArray(m.layers)) return 'layers is not a list'
  for (const [i, d] of m.layers.entries()) {
    const p = descriptorProblem(d, `layers[${i}]`)
    if (p) return p
  }
  return undefined
}
