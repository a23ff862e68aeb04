import {LABEL, withoutSlipwayLabels} from '../naming/index.js'
import type {Descriptor} from '../oci/types.js'
import type {Lease, OciStore} from '../store/index.js'
import {loadStoreImage, saveImage, withContainerConfig} from '../image/index.js'

/**
 * The final image of a dimg: the layers of its last stage with a config and manifest that name the dimg
 * and that stage. Its manifest therefore never equals a stage manifest (deleting a stage by digest can
 * never delete a final image), and it is the same for every push of the same stage.
 */
export async function finalImageOf(store: OciStore, lease: Lease, stage: Descriptor, dimg: string | null, signature: string): Promise<Descriptor> {
  const image = await loadStoreImage(store, stage.digest)
  const created = image.config.created ?? stage.annotations?.['org.opencontainers.image.created'] ?? new Date(0).toISOString()
  const labels = {[LABEL.finalStage]: signature, [LABEL.finalDimg]: dimg ?? ''}
  const final = withContainerConfig(image, c => ({...c, Labels: {...withoutSlipwayLabels(c.Labels), ...labels}}))
  return saveImage(store, lease, final, {...labels, 'org.opencontainers.image.created': created}, created)
}
