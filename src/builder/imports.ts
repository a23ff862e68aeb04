import {extractLayer, importLayer} from '../layer/index.js'
import type {StageBuilder} from './builder.js'
import {consumeLayer} from './layers.js'
import {accountsInRoot, mappingsWithIds} from './owners.js'
import {layerFromChanges, parentFiles} from './root-changes.js'

/** Imports (before/after install or setup): an artifact's files copied into the parent's unpacked root. */
export const importsBuilder: StageBuilder<'imports'> = {
  kind: 'imports',
  needsParentFiles: () => true,
  build: async (services, work, inputs) => {
    const {parent, root, changes} = await parentFiles(work)
    for (const imp of inputs.imports) {
      const srcRoot = await services.artifactRoot(imp.artifactSignature)
      const {mappings} = await mappingsWithIds([imp], parent, accountsInRoot(root))
      const files = await importLayer({srcRoot, mappings, mtimeClamp: services.mtimeClamp, compression: 'none'})
      await consumeLayer(extractLayer(files.stream, root, {label: `import from ${imp.artifact}`, signal: services.signal}), files.done)
    }
    const history = {
      created: new Date().toISOString(),
      created_by: `slipway ${work.stage.name}: ${inputs.imports.map(i => `${i.artifact}:${i.add} → ${i.to}`).join(', ')}`,
    }
    return {...(await layerFromChanges(services, work.id, parent, root, changes, history)), rootIsBuilt: true}
  },
}
