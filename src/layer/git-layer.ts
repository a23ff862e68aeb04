/** Layers made from git content: the mapped paths as of one commit (gitArchive stage), and the diff of the
 *  mapped paths between two commits with deletions as whiteouts (gitLatestPatch stage). Trees are listed
 *  with `git ls-tree`/`git diff-tree` and blobs streamed with `git cat-file --batch`, so entries come out in
 *  a deterministic order with nothing buffered but symlink targets. */
import {Readable} from 'node:stream'

import {diffTrees, listTree} from '../git/git.js'
import {sha256Digest, type Digest} from '../oci/digest.js'
import {nameFromBytes, nameToBytes} from '../oci/file-names.js'
import {blobSizes, commitTime, GitBlobReader} from '../git/objects.js'
import {ancestorsOf, compareLayerPaths, whiteoutPath} from './layer-path.js'
import {packLayer, type LayerCompression, type LayerEntry, type LayerStream} from './layer-writer.js'
import {compileMapping, type CompiledMapping, type PathMapping} from './path-mapping.js'

/** One path the layer writes: a blob (file or symlink) or a deletion. */
export interface GitLayerFile {
  path: string // entry path in the layer
  kind: 'write' | 'delete'
  gitMode?: string // '100644' | '100755' | '120000'
  blob?: string
  uid: number
  gid: number
}

interface GitLayerOptions {
  compression?: LayerCompression
  log?: (msg: string) => void
}

export interface GitArchiveLayerOptions extends GitLayerOptions {
  repoDir: string
  commit: string
  mappings: PathMapping[]
  /** Entry mtime in seconds; default the commit's committer time. */
  mtime?: number
}

function mapPath(mappings: CompiledMapping[], sourceRel: string): {path: string; m: CompiledMapping}[] {
  const out: {path: string; m: CompiledMapping}[] = []
  for (const m of mappings) {
    const path = m.target(sourceRel)
    if (path !== null && path !== '') out.push({path, m})
  }
  return out
}

function fileFor(path: string, m: CompiledMapping, kind: 'write' | 'delete', gitMode?: string, blob?: string): GitLayerFile {
  return {path, kind, gitMode, blob, uid: m.mapping.owner ?? 0, gid: m.mapping.group ?? m.mapping.owner ?? 0}
}

/** Layer entries for the files, with their parent directories (owned like the mapping below `to`). */
async function* gitEntries(repoDir: string, files: GitLayerFile[], mappings: CompiledMapping[], mtime: number): AsyncGenerator<LayerEntry> {
  const byPath = new Map<string, GitLayerFile | {dir: true; uid: number; gid: number}>()
  for (const f of files) {
    for (const a of ancestorsOf(f.path)) {
      if (byPath.has(a)) continue
      const owner = mappings.find(m => m.owns(a))
      byPath.set(a, {dir: true, uid: owner?.mapping.owner ?? 0, gid: owner?.mapping.group ?? owner?.mapping.owner ?? 0})
    }
  }
  for (const f of files) byPath.set(f.kind === 'delete' ? whiteoutPath(f.path) : f.path, f)
  const sizes = await blobSizes(repoDir, files.filter(f => f.kind === 'write' && f.gitMode !== '120000').map(f => f.blob!))
  const reader = new GitBlobReader(repoDir)
  try {
    for (const path of [...byPath.keys()].sort(compareLayerPaths)) {
      const item = byPath.get(path)!
      if ('dir' in item) {
        yield {path, type: 'directory', mode: 0o755, uid: item.uid, gid: item.gid, size: 0, mtime}
      } else if (item.kind === 'delete') {
        yield {path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0}
      } else if (item.gitMode === '120000') {
        const target = nameFromBytes(await reader.readAll(item.blob!))
        yield {path, type: 'symlink', mode: 0o777, uid: item.uid, gid: item.gid, size: 0, mtime, linkTarget: target}
      } else {
        const blob = item.blob!
        const size = sizes.get(blob) ?? 0
        yield {path, type: 'file', mode: item.gitMode === '100755' ? 0o755 : 0o644, uid: item.uid, gid: item.gid, size, mtime,
          content: () => Readable.from(reader.read(blob))}
      }
    }
  } finally {
    reader.close()
  }
}

/** The files of the mapped paths at `commit`; later mappings win where two map to the same path. */
export async function gitArchiveFiles(repoDir: string, commit: string, mappings: PathMapping[], log?: (m: string) => void): Promise<GitLayerFile[]> {
  const compiled = mappings.map(compileMapping)
  const files = new Map<string, GitLayerFile>()
  for (const e of await listTree(repoDir, commit)) {
    for (const {path, m} of mapPath(compiled, e.path)) {
      if (e.mode === '160000') {
        log?.(`git ${e.path}: commit entries (submodules) are not added to the image`)
        continue
      }
      files.set(path, fileFor(path, m, 'write', e.mode, e.object))
    }
  }
  return [...files.values()]
}

export async function gitArchiveLayer(o: GitArchiveLayerOptions): Promise<LayerStream> {
  const mtime = o.mtime ?? await commitTime(o.repoDir, o.commit)
  const files = await gitArchiveFiles(o.repoDir, o.commit, o.mappings, o.log)
  return packLayer(gitEntries(o.repoDir, files, o.mappings.map(compileMapping), mtime), {compression: o.compression})
}

export interface GitPatchOptions {
  repoDir: string
  fromCommit: string
  toCommit: string
  mappings: PathMapping[]
  log?: (msg: string) => void
}

export interface GitPatch {
  fromCommit: string
  toCommit: string
  files: GitLayerFile[]
  empty: boolean
  /** sha256 over the patch's paths, modes and blob ids: what the gitLatestPatch signature covers. */
  contentId: Digest
}

/** The mapped changes between two commits: added/modified files (by blob) and deleted ones. */
export async function gitPatchChanges(o: GitPatchOptions): Promise<GitPatch> {
  const compiled = o.mappings.map(compileMapping)
  const files = new Map<string, GitLayerFile>()
  for (const c of await diffTrees(o.repoDir, o.fromCommit, o.toCommit)) {
    for (const {path, m} of mapPath(compiled, c.path)) {
      if (c.status.startsWith('D')) {
        if (!files.has(path)) files.set(path, fileFor(path, m, 'delete'))
      } else if (c.newMode === '160000') {
        o.log?.(`git ${c.path}: submodules are not added to the image`)
      } else {
        files.set(path, fileFor(path, m, 'write', c.newMode, c.newObject))
      }
    }
  }
  // A deletion below a path that is now written as a file is implied by that file replacing the directory.
  const written = new Set([...files.values()].filter(f => f.kind === 'write').map(f => f.path))
  const list = [...files.values()].filter(f => f.kind === 'write' || !ancestorsOf(f.path).some(a => written.has(a)))
    .sort((a, b) => compareLayerPaths(a.path, b.path))
  const contentId = sha256Digest(nameToBytes(list.map(f => `${f.kind} ${f.path} ${f.gitMode ?? ''} ${f.blob ?? ''} ${f.uid}:${f.gid}`).join('\n')))
  return {fromCommit: o.fromCommit, toCommit: o.toCommit, files: list, empty: list.length === 0, contentId}
}

export interface GitPatchLayerOptions extends GitLayerOptions {
  repoDir: string
  mappings: PathMapping[]
  /** Entry mtime in seconds; default the `toCommit`'s committer time. */
  mtime?: number
}

export async function gitPatchLayer(patch: GitPatch, o: GitPatchLayerOptions): Promise<LayerStream> {
  const mtime = o.mtime ?? await commitTime(o.repoDir, patch.toCommit)
  return packLayer(gitEntries(o.repoDir, patch.files, o.mappings.map(compileMapping), mtime), {compression: o.compression})
}
