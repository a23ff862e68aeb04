/** A layer of files copied from another root (an artifact's) by `add`/`to` mappings: the `import`
 *  directive. Symlinks are copied as links, never followed; hard links inside the selection stay links. */
import {join} from 'node:path'

import {SlipwayError} from '../errors.js'
import {ancestorsOf, compareLayerPaths} from './layer-path.js'
import {packLayer, type LayerCompression, type LayerEntry, type LayerStream} from './layer-writer.js'
import {compileMapping, type PathMapping} from './path-mapping.js'
import {diskEntries, type DiskEntry} from './root-layer.js'
import {fileType, isDir, S_IFSOCK, statEntry, walkTree} from './snapshot.js'

export interface ImportLayerOptions {
  /** The root the files are taken from. */
  srcRoot: string
  mappings: PathMapping[]
  mtimeClamp?: number
  compression?: LayerCompression
  log?: (msg: string) => void
}

async function sourceMissing(add: string): Promise<never> {
  throw new SlipwayError('build', `import source ${add} does not exist in the artifact`, {hint: 'check the import\'s add path'})
}

/** The files the mappings select, keyed by destination path (later mappings win). */
async function selectFiles(o: ImportLayerOptions): Promise<Map<string, DiskEntry & {mappingIndex: number}>> {
  const selected = new Map<string, DiskEntry & {mappingIndex: number}>()
  for (const [mappingIndex, mapping] of o.mappings.entries()) {
    const m = compileMapping(mapping)
    if (m.addRel.split('/').includes('..')) throw new SlipwayError('config', `import add path ${mapping.add} leaves the artifact's root`)
    // Walk to `add` without following symlinks in its components.
    let cur = ''
    for (const part of m.addRel ? m.addRel.split('/') : []) {
      const meta = await statEntry(join(o.srcRoot, cur, part)).catch(() => null)
      cur = cur ? `${cur}/${part}` : part
      if (meta === null) await sourceMissing(mapping.add)
      if (cur !== m.addRel && !isDir(meta!)) await sourceMissing(mapping.add)
    }
    const top = m.addRel ? await statEntry(join(o.srcRoot, m.addRel)) : null
    const candidates: [string, Awaited<ReturnType<typeof statEntry>>][] = []
    if (top && !isDir(top)) candidates.push([m.addRel, top])
    else {
      if (top) candidates.push([m.addRel, top])
      for await (const [rel, meta] of walkTree(o.srcRoot, m.addRel)) candidates.push([rel, meta])
    }
    for (const [rel, meta] of candidates) {
      if (fileType(meta.mode) === S_IFSOCK) continue
      const target = m.target(rel)
      if (target === null || target === '') continue
      selected.set(target, {path: target, abs: join(o.srcRoot, rel), meta, mappingIndex})
    }
  }
  return selected
}

export async function importLayer(o: ImportLayerOptions): Promise<LayerStream> {
  const selected = await selectFiles(o)
  const synthesized = new Set<string>()
  for (const path of selected.keys()) for (const a of ancestorsOf(path)) if (!selected.has(a)) synthesized.add(a)
  const paths = [...selected.keys(), ...synthesized].sort(compareLayerPaths)
  const mappings = o.mappings

  async function* entries(): AsyncGenerator<LayerEntry> {
    const onDisk = paths.filter(p => selected.has(p)).map(p => selected.get(p)!)
    const gen = diskEntries(onDisk, {
      mtimeClamp: o.mtimeClamp,
      log: o.log,
      override: e => {
        const mapping = mappings[selected.get(e.path)!.mappingIndex]!
        return {...e, uid: mapping.owner ?? e.uid, gid: mapping.group ?? mapping.owner ?? e.gid}
      },
    })
    for (const path of paths) {
      if (synthesized.has(path)) {
        yield {path, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: o.mtimeClamp ?? 0}
        continue
      }
      const next = await gen.next()
      if (!next.done) yield next.value
    }
  }
  return packLayer(entries(), {compression: o.compression})
}
