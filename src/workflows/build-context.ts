import {mkdir, stat} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {exportDirectory, importDirectory} from '../archive/index.js'
import {SlipwayError} from '../errors.js'
import {localStageName, localStageSignature} from '../naming/index.js'
import {exportArchive, importArchive, projectBuildDir} from '../store/index.js'
import type {WorkflowContext} from './context.js'
import {loadProject, planWithCaches} from '../project/index.js'

export const IMAGES_ARCHIVE = 'images.tar'
export const BUILD_ARCHIVE = 'build.tar'

export interface BuildContextRequest {
  dir: string
  /** Where images.tar and build.tar are written or read. */
  directory: string
  dimgs?: string[]
}

export interface ExportResult {
  images: {file: string; stages: number; blobs: number; bytes: number}
  build: {file: string; entries: number; bytes: number}
}

export interface ImportResult {
  images: {file: string; stages: string[]; blobsWritten: number; blobsSkipped: number; bytes: number}
  build: {file: string; entries: number; bytes: number}
}

function transferReporter(ctx: WorkflowContext, id: string, label: string) {
  let started = false
  return (p: {bytes: number; totalBytes?: number}) => {
    if (!started) ctx.reporter.begin(id, label, {total: p.totalBytes})
    started = true
    ctx.reporter.progress(id, p.bytes)
  }
}

/**
 * `dimg build-context export`: the project's stages cache (all of it, or the planned stages of the named
 * dimgs) as an OCI image layout archive, and its build_dir mounts as a second archive.
 */
export async function exportBuildContext(ctx: WorkflowContext, req: BuildContextRequest): Promise<ExportResult> {
  const store = await ctx.store()
  let names: string[]
  let projectName: string
  if (req.dimgs && req.dimgs.length > 0) {
    const {plan} = await planWithCaches(ctx, {dir: req.dir, dimgs: req.dimgs})
    projectName = plan.project.name
    const wanted = new Set(plan.dimgs.flatMap(d => d.stages.map(s => localStageName(projectName, s.signature))))
    names = (await store.listRefs()).map(r => r.name).filter(n => wanted.has(n))
  } else {
    projectName = (await loadProject(req.dir)).name
    names = (await store.listRefs()).map(r => r.name).filter(n => localStageSignature(n, projectName) !== undefined)
  }
  if (names.length === 0) {
    throw new SlipwayError('not-found', `the local stages cache has no stages of project ${projectName}${req.dimgs?.length ? ` for ${req.dimgs.join(', ')}` : ''}`, {
      hint: 'run `slipway dimg build` first',
    })
  }
  const directory = resolve(req.directory)
  await mkdir(directory, {recursive: true})
  const imagesFile = join(directory, IMAGES_ARCHIVE)
  const exported = await exportArchive(store, names.sort(), imagesFile, {onProgress: transferReporter(ctx, 'images', IMAGES_ARCHIVE)})
  ctx.reporter.end('images', `${exported.images} stages written`)
  const buildDir = projectBuildDir(ctx.home, projectName)
  await mkdir(buildDir, {recursive: true})
  const buildFile = join(directory, BUILD_ARCHIVE)
  const build = await exportDirectory(buildDir, buildFile, {onProgress: transferReporter(ctx, 'build', BUILD_ARCHIVE)})
  ctx.reporter.end('build', `${build.entries} entries written`)
  return {
    images: {file: imagesFile, stages: exported.images, blobs: exported.blobs, bytes: exported.bytes},
    build: {file: buildFile, entries: build.entries, bytes: build.bytes},
  }
}

async function requireFile(path: string): Promise<void> {
  const s = await stat(path).catch(() => undefined)
  if (!s?.isFile()) {
    throw new SlipwayError('not-found', `${path} does not exist`, {hint: 'run `slipway dimg build-context export` on the other machine and copy images.tar and build.tar here, or pass --build-context-directory'})
  }
}

/**
 * `dimg build-context import`: every blob of images.tar verified into the local store (names set only
 * when all of it checked out), and build.tar swapped in as the project's build directory.
 */
export async function importBuildContext(ctx: WorkflowContext, req: BuildContextRequest): Promise<ImportResult> {
  const project = await loadProject(req.dir)
  const directory = resolve(req.directory)
  const imagesFile = join(directory, IMAGES_ARCHIVE)
  const buildFile = join(directory, BUILD_ARCHIVE)
  await requireFile(imagesFile)
  await requireFile(buildFile)
  const store = await ctx.store()
  const images = await importArchive(store, imagesFile, {onProgress: transferReporter(ctx, 'images', IMAGES_ARCHIVE)})
  ctx.reporter.end('images', `${images.images.length} stages, ${images.blobsWritten} blobs written, ${images.blobsSkipped} already there`)
  const buildDir = projectBuildDir(ctx.home, project.name)
  await mkdir(join(ctx.home, 'build'), {recursive: true})
  const build = await importDirectory(buildFile, buildDir, {onProgress: transferReporter(ctx, 'build', BUILD_ARCHIVE)})
  ctx.reporter.end('build', `${build.entries} entries`)
  return {images: {file: imagesFile, stages: images.images, blobsWritten: images.blobsWritten, blobsSkipped: images.blobsSkipped, bytes: images.bytes}, build: {file: buildFile, ...build}}
}
