import {SlipwayError} from '../errors.js'
import type {AnyManifest, Descriptor, ImageManifest} from '../oci/types.js'
import {manifestProblem} from '../oci/validate.js'

export function parseManifest(bytes: Buffer, what: string): AnyManifest {
  let doc: unknown
  try {
    doc = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new SlipwayError('registry', `${what} is not a valid image manifest: it is not JSON`, {hint: 'the image is corrupt or not a container image'})
  }
  const problem = manifestProblem(doc)
  if (problem) throw new SlipwayError('registry', `${what} is not a valid image manifest: ${problem}`, {hint: 'the image is corrupt or not a container image'})
  return doc as AnyManifest
}

export function imageBlobs(m: ImageManifest): Descriptor[] {
  return [m.config, ...m.layers]
}
