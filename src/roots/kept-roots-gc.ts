import {loadStoreImage} from '../image/index.js'
import {KeptRoots} from './kept-roots.js'
import type {OciStore} from '../store/index.js'

/**
 * `dimg cleanup` and `store gc`: kept roots that no image in the store starts with (their stages were
 * removed) go, and so do the half-made ones of killed builds; roots in use by a running build stay.
 * Returns the keys of the kept roots removed (or that would be, with `dryRun`).
 */
export async function removeStaleKeptRoots(home: string, store: OciStore, opts: {dryRun?: boolean} = {}): Promise<string[]> {
  const kept = await KeptRoots.existing(home)
  if (!kept) return []
  const wanted = new Set<string>()
  for (const ref of await store.listRefs()) {
    const image = await loadStoreImage(store, ref.descriptor.digest).catch(() => undefined) // an index: no root of its own
    const chain = image?.manifest.layers.map(l => l.digest) ?? []
    for (let n = 1; n <= chain.length; n++) wanted.add(chain.slice(0, n).join(','))
  }
  if (!opts.dryRun) await kept.removeLeftovers()
  return kept.removeStale(chain => wanted.has(chain.join(',')), opts.dryRun ?? false)
}
