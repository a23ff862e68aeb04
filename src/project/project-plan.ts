import {DEPENDENCY_STAGES, type DappConfig, type DependencyStageName, type DimgConfig, type ShellStageName} from '../config/types.js'
import {SlipwayError} from '../errors.js'
import {diffTrees, listTree, treeishExists, type TreeEntry} from '../git/git.js'
import type {RemoteCommit, RemoteRef} from '../git/remote.js'
import {urlWithoutCredentials} from '../redact.js'
import {dependencyChecksum, patchContent} from '../stage/content.js'
import {STAGE_NAMES} from '../stage/names.js'
import {completeStages, importSourceKey, planBaseStages, type DimgFacts, type GitRevision, type LatestPatch, type PlannedStage} from '../stage/stage-plan.js'
import {CACHE_VERSION, type StageSignature} from '../stage/signature.js'
import {describeDimg, type Project} from './load-project.js'

/**
 * From a loaded project to its stage plan: for each dimg (artifacts first) the stages with their
 * signatures. Reads git (trees, diffs) and asks the resolvers it is given; nothing else.
 */

/** One dimg or artifact of the plan. */
export interface DimgPlan {
  /** `null` for the single unnamed dimg. */
  name: string | null
  isArtifact: boolean
  /** Non-empty stages in build order, `from` first. */
  stages: PlannedStage[]
  /** The last stage's signature: the image the dimg is (and what importers of an artifact copy from). */
  lastSignature: StageSignature
  /** Names of the artifacts it imports from. */
  imports: string[]
  /** The dimg it is built on (fromDimg…), whose last stage its `from` stage is. */
  base?: string
  /** Asked for (or all were); false for a dimg planned only because a selected one is built on it. */
  selected: boolean
}

export interface ProjectPlan {
  /** The tool's cache version that every signature covers. */
  cacheVersion: string
  project: {name: string; dir: string; configFile: string; gitRoot?: string; headCommit?: string; dev: boolean}
  /** Build order: every dimg after the artifacts it imports and the dimg it is built on; each one once. */
  dimgs: DimgPlan[]
}

export interface PlanProjectOptions {
  /** Only these dimgs (and the artifacts and dimgs they need); all dimgs when absent or empty. */
  dimgs?: readonly string[]
  /** Resolves a base reference (as written) to its digest now; only called for dimgs with `fromLatest`. */
  resolveFromDigest?: (reference: string) => Promise<string>
  /**
   * The git content ref (`PlannedStage.gitContentRef` as the build recorded it: the commit, or in --dev
   * the work-tree tree id) of the cached stage with this signature, if the stages cache has it. The latest
   * patch goes from what the stage before it recorded to the current content; without this resolver (or
   * when that stage is not cached, so that it will be built now from the current content) it is empty and
   * the stage is skipped.
   */
  recordedCommitOf?: (signature: StageSignature) => Promise<string | undefined>
  /** The commit a remote git mapping (`url:`) resolves to now, in a local clone; needed for remote mappings. */
  remoteCommit?: (remote: RemoteRef) => Promise<RemoteCommit>
}

export async function planProject(project: Project, opts: PlanProjectOptions = {}): Promise<ProjectPlan> {
  const {order, selected} = buildOrder(project.config, opts.dimgs ?? [])
  const trees = new Map<string, Promise<TreeEntry[]>>()
  const filesAt = (root: string, ref: string): Promise<TreeEntry[]> => {
    const key = `${root}\0${ref}`
    if (!trees.has(key)) trees.set(key, listTree(root, ref))
    return trees.get(key)!
  }
  const remotes = new Map<string, Promise<RemoteCommit>>()
  const remoteCommit = (remote: RemoteRef): Promise<RemoteCommit> => {
    if (!opts.remoteCommit) throw new SlipwayError('internal', 'a remote git mapping but no remote resolver was given to the planner')
    const key = remoteKey(remote)
    if (!remotes.has(key)) remotes.set(key, opts.remoteCommit(remote))
    return remotes.get(key)!
  }
  const planned = new Map<string, DimgPlan>()
  const plans: DimgPlan[] = []
  const planOpts = {dev: project.dev, cacheVersion: CACHE_VERSION}
  for (const dimg of order) {
    const source = await gitSource(project, dimg, remoteCommit)
    const facts = await dimgFacts(project, dimg, source, planned, filesAt, opts)
    const base = planBaseStages(dimg, facts, planOpts)
    const patch = source === undefined ? undefined : await latestPatch(source, dimg, base, opts)
    const stages = completeStages(dimg, base, patch, facts, planOpts)
    const plan: DimgPlan = {
      name: dimg.name,
      isArtifact: dimg.isArtifact,
      stages,
      lastSignature: stages[stages.length - 1].signature,
      imports: [...new Set(dimg.imports.map((i) => i.artifact))],
      ...(dimg.fromDimg ? {base: dimg.fromDimg.name} : {}),
      selected: selected.has(dimg),
    }
    if (dimg.name !== null) planned.set(dimg.name, plan)
    plans.push(plan)
  }
  return {
    cacheVersion: CACHE_VERSION,
    project: {
      name: project.name,
      dir: project.dir,
      configFile: project.config.file,
      ...(project.git ? {gitRoot: project.git.root, headCommit: project.git.headCommit} : {}),
      dev: project.dev,
    },
    dimgs: plans,
  }
}

/** The names of the dimgs a dimg needs built first: the artifacts it imports, the dimg it is built on. */
function needs(d: DimgConfig): string[] {
  return [...d.imports.map((i) => i.artifact), ...(d.fromDimg ? [d.fromDimg.name] : [])]
}

/**
 * The selected dimgs with what they need (see `needs`), each after what it needs (depth first). The
 * config refused cycles when it was loaded.
 */
export function buildOrder(config: DappConfig, selected: readonly string[]): {order: DimgConfig[]; selected: Set<DimgConfig>} {
  const dimgs = config.dimgs.filter((d) => !d.isArtifact)
  let roots = dimgs
  if (selected.length > 0) {
    const named = dimgs.filter((d) => d.name !== null).map((d) => d.name as string)
    if (named.length === 0) {
      throw new SlipwayError('usage', `the config has one unnamed dimg, so no DIMG argument is accepted (got ${selected.map((s) => `"${s}"`).join(', ')})`, {
        hint: 'leave out the DIMG arguments',
      })
    }
    const unknown = selected.filter((s) => !named.includes(s))
    if (unknown.length > 0) {
      throw new SlipwayError('usage', `unknown dimg ${unknown.map((s) => `"${s}"`).join(', ')}`, {hint: `the config defines: ${named.join(', ')}`})
    }
    roots = dimgs.filter((d) => selected.includes(d.name as string))
  }
  const byName = new Map(config.dimgs.filter((d) => d.name !== null).map((d) => [d.name as string, d]))
  const out: DimgConfig[] = []
  const seen = new Set<DimgConfig>()
  // An explicit stack, so a long chain of imports and bases cannot overflow.
  for (const root of roots) {
    if (seen.has(root)) continue
    seen.add(root)
    const stack: {d: DimgConfig; needs: string[]; next: number}[] = [{d: root, needs: needs(root), next: 0}]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      if (top.next === top.needs.length) {
        out.push(top.d)
        stack.pop()
        continue
      }
      const dep = byName.get(top.needs[top.next++])!
      if (!seen.has(dep)) {
        seen.add(dep)
        stack.push({d: dep, needs: needs(dep), next: 0})
      }
    }
  }
  return {order: out, selected: new Set(roots)}
}

/**
 * The stage an import copies from: the source's last, or with werf's `stage:` its image as it is after that
 * stage, i.e. the last of its stages up to that one (an empty stage is the image of the one before it).
 */
export function importSourceSignature(source: DimgPlan, stage: ShellStageName | undefined): StageSignature {
  if (stage === undefined) return source.lastSignature
  const upTo = STAGE_NAMES.indexOf(stage)
  return source.stages.filter((s) => STAGE_NAMES.indexOf(s.name) <= upTo).at(-1)!.signature
}

/** Where a dimg's git files come from: the project's repository, or the one remote its mappings name. */
interface GitSource {
  /** The work tree, or a remote's clone. */
  root: string
  revision: GitRevision
  /** How errors name it. */
  label: string
}

function remoteKey(r: RemoteRef): string {
  return JSON.stringify([r.url, r.branch ?? null, r.tag ?? null, r.commit ?? null])
}

async function gitSource(project: Project, dimg: DimgConfig, remoteCommit: (r: RemoteRef) => Promise<RemoteCommit>): Promise<GitSource | undefined> {
  if (dimg.git.length === 0) return undefined
  const sources = [...new Set(dimg.git.map((m) => (m.remote === undefined ? 'local' : remoteKey(m.remote))))]
  if (sources.length > 1) {
    const names = dimg.git.map((m) => (m.remote === undefined ? "the project's" : urlWithoutCredentials(m.remote.url)))
    throw new SlipwayError('config', `${describeDimg(dimg)} maps git paths from more than one repository (${[...new Set(names)].join(', ')}): not supported yet`, {
      hint: 'map each other repository in an artifact of its own and import from it',
    })
  }
  const remote = dimg.git[0].remote
  if (remote !== undefined) {
    const {dir, commit} = await remoteCommit(remote)
    return {root: dir, revision: {commit, contentRef: commit, repository: dir}, label: `git ${urlWithoutCredentials(remote.url)}`}
  }
  if (project.git === undefined) throw new SlipwayError('config', `${describeDimg(dimg)} maps git paths but the project has no git commit`)
  return {root: project.git.root, revision: {commit: project.git.headCommit, contentRef: project.git.contentRef}, label: 'the repository'}
}

async function dimgFacts(
  project: Project,
  dimg: DimgConfig,
  source: GitSource | undefined,
  planned: ReadonlyMap<string, DimgPlan>,
  filesAt: (root: string, ref: string) => Promise<TreeEntry[]>,
  opts: PlanProjectOptions,
): Promise<DimgFacts> {
  const artifactSignatures: Record<string, StageSignature> = {}
  for (const imp of dimg.imports) artifactSignatures[importSourceKey(imp)] = importSourceSignature(planned.get(imp.artifact)!, imp.stage)
  const baseSignature = dimg.fromDimg ? planned.get(dimg.fromDimg.name)!.lastSignature : undefined
  let revision: GitRevision | undefined
  let dependencyChecksums: DimgFacts['dependencyChecksums'] = []
  if (source !== undefined) {
    revision = source.revision
    const needsFiles = dimg.git.some((m) => Object.keys(m.stageDependencies).length > 0)
    const files = needsFiles ? await filesAt(source.root, revision.contentRef) : []
    dependencyChecksums = dimg.git.map((m) => {
      const perStage: Partial<Record<DependencyStageName, string>> = {}
      for (const stage of DEPENDENCY_STAGES) {
        const checksum = dependencyChecksum(m, stage, files)
        if (checksum !== undefined) perStage[stage] = checksum
      }
      return perStage
    })
  }
  let fromDigest: string | undefined
  if (dimg.fromLatest) {
    if (!opts.resolveFromDigest) throw new SlipwayError('internal', `${describeDimg(dimg)} uses fromLatest but no registry resolver was given to the planner`)
    fromDigest = await opts.resolveFromDigest(dimg.from)
  }
  return {
    ...(revision ? {revision} : {}),
    dependencyChecksums,
    artifactSignatures,
    ...(fromDigest === undefined ? {} : {fromDigest}),
    ...(baseSignature === undefined ? {} : {baseSignature}),
  }
}

async function latestPatch(source: GitSource, dimg: DimgConfig, base: readonly PlannedStage[], opts: PlanProjectOptions): Promise<LatestPatch | undefined> {
  const {root, revision} = source
  const previous = base[base.length - 1]
  const recorded = opts.recordedCommitOf ? await opts.recordedCommitOf(previous.signature) : undefined
  // a stage the cache lacks is built now, from the current content: that is what it will record
  const fromCommit = recorded ?? revision.contentRef
  if (fromCommit === revision.contentRef) return undefined
  if (recorded !== undefined && recorded !== revision.commit && !(await treeishExists(root, recorded))) {
    throw new SlipwayError('not-found', `the cached ${previous.name} stage ${previous.signature.slice(0, 12)} of ${describeDimg(dimg)} was built from commit ${recorded}, which is not in ${source.label}`, {
      hint: 'run "dimg stages cleanup local --improper-git-commit" (e.g. after a rebase)',
    })
  }
  const changes = await diffTrees(root, fromCommit, revision.contentRef)
  const content = patchContent(dimg.git, changes)
  return content === undefined ? undefined : {fromCommit, content}
}

/** The name a dimg is listed under: its own, or the project's for the single unnamed dimg. */
export function listedName(plan: ProjectPlan, dimg: DimgPlan): string {
  return dimg.name ?? plan.project.name
}
