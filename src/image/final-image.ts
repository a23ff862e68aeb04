import {CREATED_ANNOTATION, LABEL, withoutSlipwayLabels} from '../naming/index.js'
import {sha256Digest} from '../oci/digest.js'
import {MediaType} from '../oci/media-types.js'
import type {Descriptor, ImageConfig, ImageManifest} from '../oci/types.js'
import type {Lease, OciStore} from '../store/index.js'
import {withContainerConfig} from './compose.js'
import type {ImageParts} from './image.js'
import {loadStoreImage} from './store-image.js'

/** A final image's two documents, as the bytes that are stored and sent. */
export interface FinalImageDocuments {
  config: {bytes: Buffer; descriptor: Descriptor}
  manifest: {bytes: Buffer; descriptor: Descriptor}
}

/**
 * The final image of a dimg: the layers of its last stage with a config and manifest that name the dimg
 * and that stage. Its manifest therefore never equals a stage manifest (deleting a stage by digest can
 * never delete a final image), and it is byte for byte the same for every push of the same stage, whether
 * the stage is read from the local store or from REPO.
 */
export function finalImageDocuments(stage: ImageParts, stageAnnotations: Record<string, string> | undefined, dimg: string | null, signature: string): FinalImageDocuments {
  const created = stage.config.created ?? stageAnnotations?.[CREATED_ANNOTATION] ?? new Date(0).toISOString()
  const labels = {[LABEL.finalStage]: signature, [LABEL.finalDimg]: dimg ?? ''}
  const final = withContainerConfig(stage, c => ({...c, Labels: {...withoutSlipwayLabels(c.Labels), ...labels}}))
  const config: ImageConfig = {...final.config, created}
  const configBytes = Buffer.from(JSON.stringify(config))
  const configDesc: Descriptor = {mediaType: MediaType.OciConfig, digest: sha256Digest(configBytes), size: configBytes.length}
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDesc,
    layers: stage.manifest.layers,
    annotations: {...labels, [CREATED_ANNOTATION]: created},
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest))
  return {
    config: {bytes: configBytes, descriptor: configDesc},
    manifest: {bytes: manifestBytes, descriptor: {mediaType: MediaType.OciManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.length}},
  }
}

/** Writes the two documents into the store under the lease (its layers stay wherever they are); returns the manifest. */
async function storeDocuments(store: OciStore, lease: Lease, docs: FinalImageDocuments): Promise<Descriptor> {
  const both = [docs.config, docs.manifest]
  // one lease save for the pair, then both writes at once (each write's own lease.add finds them leased)
  await lease.add(...both.map(d => d.descriptor.digest))
  await Promise.all(both.map(({bytes, descriptor}) => store.writeBlobBytes(bytes, {digest: descriptor.digest, size: descriptor.size}, lease)))
  return docs.manifest.descriptor
}

/** The final image of a stage in the local store. */
export async function finalImageOf(store: OciStore, lease: Lease, stage: Descriptor, dimg: string | null, signature: string): Promise<Descriptor> {
  return storeDocuments(store, lease, finalImageDocuments(await loadStoreImage(store, stage.digest), stage.annotations, dimg, signature))
}

/**
 * The final image of a stage that is in REPO only: its manifest and config (read from REPO when its tag was
 * checked, in OCI form) give the final config and manifest, written to the store; its layers are left in
 * REPO for the push to mount. The same bytes a push of the stage from the local store makes.
 */
export async function finalImageOfRemoteStage(store: OciStore, lease: Lease, stage: ImageParts, stageAnnotations: Record<string, string> | undefined, dimg: string | null, signature: string): Promise<Descriptor> {
  return storeDocuments(store, lease, finalImageDocuments(stage, stageAnnotations ?? stage.manifest.annotations, dimg, signature))
}
