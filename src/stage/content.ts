import type {DependencyStageName, GitMapping} from '../config/types.js'
import type {TreeChange, TreeEntry} from '../git/git.js'
import {canonicalJson} from './canonical.js'
import {globsMatcher, pathMapper} from './paths.js'
import {sha256Hex} from './signature.js'

/** A file of a git tree (what `git ls-tree -r` prints). */
export type FileVersion = TreeEntry

/** A changed file between two git trees (what `git diff-tree -r --raw` prints). */
export type FileChange = TreeChange

/**
 * The content checksum of the files a stage depends on through one mapping: sha256 over the sorted
 * (path relative to `add`, mode, blob id) of every file the mapping covers that matches the stage's
 * `stageDependencies` globs. Undefined when the mapping lists no dependencies for the stage.
 * Blob ids are content hashes, so the checksum moves exactly when such a file's content, mode or name does.
 */
export function dependencyChecksum(mapping: GitMapping, stage: DependencyStageName, files: readonly FileVersion[]): string | undefined {
  const globs = mapping.stageDependencies[stage]
  if (globs === undefined || globs.length === 0) return undefined
  const mapPath = pathMapper(mapping)
  const matches = globsMatcher(globs)
  const picked: [string, string, string][] = []
  for (const f of files) {
    const rel = mapPath(f.path)
    if (rel !== undefined && matches(rel)) picked.push([rel, f.mode, f.object])
  }
  picked.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return sha256Hex(canonicalJson(picked))
}

export interface PatchContent {
  /** sha256 over the mapped changes of every mapping; what gitLatestPatch's signature covers. */
  checksum: string
  /** How many mapped files changed. */
  changedFiles: number
}

/**
 * The content of the latest patch: for each mapping, the sorted changes of the files it covers (path
 * relative to `add`, status, modes, blob ids before and after — which determine the diff exactly).
 * Undefined when no mapped file changed: the stage is then skipped.
 */
export function patchContent(mappings: readonly GitMapping[], changes: readonly FileChange[]): PatchContent | undefined {
  let changedFiles = 0
  const perMapping = mappings.map((m) => {
    const mapPath = pathMapper(m)
    const mapped: string[][] = []
    for (const c of changes) {
      const rel = mapPath(c.path)
      if (rel !== undefined) mapped.push([rel, c.status, c.oldMode, c.newMode, c.oldObject, c.newObject])
    }
    mapped.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    changedFiles += mapped.length
    return mapped
  })
  if (changedFiles === 0) return undefined
  return {checksum: sha256Hex(canonicalJson(perMapping)), changedFiles}
}
