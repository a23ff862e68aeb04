/** `add`/`to` path mappings with include/exclude globs, as dapp's git and import directives use them. */
import picomatch from 'picomatch'

import {joinEntryPath} from './layer-path.js'

export interface PathMapping {
  /** Source path (in the repo or the artifact's root); `/` for everything. */
  add: string
  /** Destination path in the image. */
  to: string
  /** Globs relative to `add`; a pattern also matches everything below a matching directory. */
  includePaths?: string[]
  excludePaths?: string[]
  /** Numeric owner/group for the files written; unset keeps the source's (git: 0). */
  owner?: number
  group?: number
}

function trimSlashes(p: string): string {
  return p.replace(/^\/+/, '').replace(/\/+$/, '')
}

function matcher(patterns: string[]): (rel: string) => boolean {
  const globs = patterns.map(trimSlashes).filter(Boolean).flatMap(p => [p, `${p}/**`])
  return globs.length ? picomatch(globs, {dot: true}) : () => false
}

export interface CompiledMapping {
  mapping: PathMapping
  addRel: string
  toRel: string
  /** The destination entry path for a source path (relative, no leading slash), or null when not mapped. */
  target(sourceRel: string): string | null
  /** Whether a destination path lies at or below `to` (gets owner/group). */
  owns(targetPath: string): boolean
}

export function compileMapping(mapping: PathMapping): CompiledMapping {
  const addRel = trimSlashes(mapping.add)
  const toRel = trimSlashes(mapping.to)
  const include = mapping.includePaths?.length ? matcher(mapping.includePaths) : () => true
  const exclude = matcher(mapping.excludePaths ?? [])
  return {
    mapping,
    addRel,
    toRel,
    target(sourceRel) {
      let rel: string
      if (addRel === '') rel = sourceRel
      else if (sourceRel === addRel) return joinEntryPath(mapping.to, '')
      else if (sourceRel.startsWith(addRel + '/')) rel = sourceRel.slice(addRel.length + 1)
      else return null
      if (!include(rel) || exclude(rel)) return null
      return joinEntryPath(mapping.to, rel)
    },
    owns(targetPath) {
      return toRel === '' || targetPath === toRel || targetPath.startsWith(toRel + '/')
    },
  }
}
