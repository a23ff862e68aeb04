import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {runSkopeo} from '../../helpers/base-image.js'
import {freshHome, runSlipway, startSlipway, type RunningSlipway} from '../../helpers/cli.js'
import type {TestProject} from '../../helpers/project.js'
import type {TestRegistry} from '../../helpers/registry.js'
import {storedManifest, storedTags} from '../../helpers/registry-traffic.js'
import {runImage} from '../../helpers/run-image.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

/**
 * Ephemeral CI runners against one real registry: each runner is a fresh SLIPWAY_HOME that runs
 * `dimg bp --with-stages REPO` on a project and is thrown away. What a run cost is read from the
 * registry's side (../../helpers/registry-traffic.ts); what it made is read with skopeo and umoci.
 */

export interface StageReport {
  name: string
  signature: string
  status: string
}

export interface DimgReport {
  name: string | null
  listedAs: string
  signature: string
  stages: StageReport[]
}

export interface BpJson {
  build: {built: number; dimgs: DimgReport[]}
  push: {stages: {signature: string; status: string}[]; images: {dimg: string; image: string; digest: string}[]}
}

export interface Runners {
  /** `dimg bp --with-stages REPO --json` on a fresh runner; throws with stderr unless it exits 0. */
  bp(project: TestProject, repo: string): Promise<BpJson>
  /** The same, started: for runs at once or killed ones. */
  startBp(project: TestProject, repo: string): RunningSlipway
  cleanup(): Promise<void>
}

export function runners(): Runners {
  const homes: string[] = []
  const fresh = (): string => {
    const home = freshHome()
    homes.push(home)
    return home
  }
  const args = (project: TestProject, repo: string): string[] => ['dimg', 'bp', repo, '--with-stages', '--json', '--dir', project.dir]
  return {
    async bp(project, repo) {
      const r = await runSlipway(args(project, repo), {env: {SLIPWAY_HOME: fresh()}, timeoutMs: 300_000})
      if (r.code !== 0) throw new Error(`dimg bp ${repo} --with-stages exited ${r.code}: ${r.stderr}`)
      return JSON.parse(r.stdout) as BpJson
    },
    startBp: (project, repo) => startSlipway(args(project, repo), {env: {SLIPWAY_HOME: fresh()}, timeoutMs: 300_000}),
    async cleanup() {
      for (const h of homes) await removeTempDir(h)
    },
  }
}

export function dimgReport(bp: BpJson, name: string): DimgReport {
  const d = bp.build.dimgs.find(x => (x.name ?? x.listedAs) === name)
  if (!d) throw new Error(`no dimg ${name} in the build report: ${bp.build.dimgs.map(x => x.name).join(', ')}`)
  return d
}

/** Per dimg, the names of the stages this run built. */
export function builtStages(bp: BpJson): Record<string, string[]> {
  return Object.fromEntries(bp.build.dimgs.map(d => [d.name ?? d.listedAs, d.stages.filter(s => s.status === 'built').map(s => s.name)]))
}

export const STAGE_TAG_PREFIX = 'dimgstage-'

export async function stageTags(reg: TestRegistry, repoPath: string): Promise<string[]> {
  return (await storedTags(reg, repoPath)).filter(t => t.startsWith(STAGE_TAG_PREFIX))
}

/** Layer digests of REPO:dimgstage-<signature>, from the registry's storage. */
export async function stageLayers(reg: TestRegistry, repoPath: string, signature: string): Promise<string[]> {
  return ((await storedManifest(reg, repoPath, `${STAGE_TAG_PREFIX}${signature}`)).layers ?? []).map(l => l.digest)
}

/**
 * The layers a run that built `bp`'s stages on an empty runner needs: for each dimg, the image its first
 * built stage stands on (the stage before it); for a built imports stage, the last stage of each artifact it
 * imports that this run did not build (`imports`: dimg → artifacts). Nothing else.
 */
export async function layersBuiltOn(reg: TestRegistry, repoPath: string, bp: BpJson, imports: Record<string, string[]> = {}): Promise<string[]> {
  const needed = new Set<string>()
  for (const d of bp.build.dimgs) {
    const first = d.stages.findIndex(s => s.status === 'built')
    if (first < 0) continue
    if (first > 0) for (const l of await stageLayers(reg, repoPath, d.stages[first - 1].signature)) needed.add(l)
    const importsBuilt = d.stages.some(s => s.status === 'built' && s.name.startsWith('imports'))
    for (const artifact of importsBuilt ? imports[d.name ?? d.listedAs] ?? [] : []) {
      const a = dimgReport(bp, artifact)
      if (a.stages.some(s => s.status === 'built')) continue
      for (const l of await stageLayers(reg, repoPath, a.signature)) needed.add(l)
    }
  }
  return [...needed].sort()
}

/** `uid:gid path` of every entry of a stored layer blob, as GNU tar lists it. */
export async function layerOwners(reg: TestRegistry, digest: string): Promise<string[]> {
  const hex = digest.slice('sha256:'.length)
  const blob = join(reg.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')
  const {stdout} = await promisify(execFile)('tar', ['--numeric-owner', '-tvf', blob], {maxBuffer: 16 * 1024 * 1024})
  return stdout.trim().split('\n').map(line => {
    const [, owner, , , , ...name] = line.split(/\s+/)
    return `${owner.replace('/', ':')} ${name.join(' ')}`
  })
}

/** Copies REF out of the registry with skopeo and runs it with umoci + bwrap (test/helpers/run-image.ts). */
export async function runFromRegistry(reg: TestRegistry, ref: string, args?: string[]): Promise<string> {
  const dir = await makeTempDir('pulled-image')
  try {
    const layout = join(dir, 'layout')
    await runSkopeo(['copy', '--quiet', ...reg.skopeoFlags('src'), `docker://${ref}`, `oci:${layout}:image`])
    return await runImage(layout, 'image', args)
  } finally {
    await removeTempDir(dir)
  }
}

/** `skopeo inspect` of REF on a plain registry: what another client reads of it. */
export async function inspect(ref: string): Promise<{Digest: string; Labels: Record<string, string> | null; Layers: string[]}> {
  return JSON.parse((await runSkopeo(['inspect', '--tls-verify=false', `docker://${ref}`])).stdout)
}
