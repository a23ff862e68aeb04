import {
  DEPENDENCY_STAGES,

  type DependencyStageName,
  type DimgConfig,
  type DockerInstructions,
  type GitMapping,
  type ImportPosition,
  type ImportSpec,
  type MountSpec,
  type ShellStageName,
  type UserStageName,
} from '../config/types.js'
import {urlWithoutCredentials} from '../redact.js'
import type {PatchContent} from './content.js'
import type {StageName} from './names.js'
import {stageSignature, type StageSignature} from './signature.js'

/**
 * The stage plan of one dimg: pure functions from the typed config and the facts read from git (and, for
 * `fromLatest`, the registry) to the list of non-empty stages with their signatures. No I/O here.
 *
 * What each signature covers is SPEC.md's stage table, and only that (see `signedContent` per stage):
 *   from            image as written, fromCacheVersion, and the resolved digest with fromLatest; built on a
 *                   dimg (fromDimg…), that dimg's last stage signature instead of the image; the mounts
 *                   (kind, fromPath as written, to), as dapp and werf sign them there
 *   shell stages    commands, shell.cacheVersion, shell.<stage>CacheVersion, and for install/beforeSetup/
 *                   setup/buildArtifact the checksums of their stageDependencies files
 *   imports*        per import: the source's stage signature (the artifact's or image's last, or its
 *                   `stage:`), add, to, include/exclude, owner, group
 *   gitArchive      the mappings (add, to, include/exclude, owner, group) — not the commit
 *   gitLatestPatch  the checksum of the mapped changes (see content.ts)
 *   docker          the instructions
 * plus, for all, the stage name, the parent's signature, the cache version and a dev-mode salt.
 */

/** The git state the files come from. */
export interface GitRevision {
  /** The commit HEAD points at. */
  commit: string
  /** The tree-ish files are read from: `commit`, or with --dev the tree id of the work tree snapshot. */
  contentRef: string
  /**
   * For a remote repository's mappings (`url:`): its local clone, where `commit` is read. Its commits are not
   * recorded as the stage's git commit (which cleanup checks against the project's repository).
   */
  repository?: string
}

/** A git mapping as signed (stageDependencies are covered by the dependency checksums instead). */
export type SignedGitMapping = Omit<GitMapping, 'stageDependencies'>

export interface ResolvedImport extends ImportSpec {
  /** The signature of the stage the files are copied from: the artifact's (or image's) last, or its `stage`. */
  artifactSignature: StageSignature
}

/** How DimgFacts.artifactSignatures names an import's source: the dimg, and the stage when one is chosen. */
export function importSourceKey(spec: Pick<ImportSpec, 'artifact' | 'stage'>): string {
  return spec.stage === undefined ? spec.artifact : `${spec.artifact}\0${spec.stage}`
}

export type StageInputs =
  | {
      kind: 'from'
      image: string
      fromCacheVersion?: string
      fromLatest: boolean
      digest?: string
      /** Built on a dimg of the config (fromDimg…): its last stage, the image this stage is. */
      base?: {dimg: string; signature: StageSignature}
    }
  | {
      kind: 'shell'
      stage: UserStageName
      commands: string[]
      cacheVersion?: string
      stageCacheVersion?: string
      mounts: MountSpec[]
      /** Set for install/beforeSetup/setup of a dimg with git mappings: bring the mapped files to this revision first. */
      git?: {mappings: GitMapping[]; revision: GitRevision}
      /** The stageDependencies checksums that were signed, by mapping index. */
      dependencies: {mapping: number; checksum: string}[]
    }
  | {kind: 'imports'; position: ImportPosition; imports: ResolvedImport[]}
  | {kind: 'gitArchive'; mappings: GitMapping[]; revision: GitRevision}
  | {
      kind: 'gitLatestPatch'
      mappings: GitMapping[]
      /** The content ref recorded in the previous stage: the patch goes from it to `revision.contentRef`. */
      fromCommit: string
      revision: GitRevision
      changedFiles: number
    }
  | {kind: 'docker'; instructions: DockerInstructions}

export interface PlannedStage {
  name: StageName
  /** 64 hex digits; the cache tag is `dimgstage-<signature>`. */
  signature: StageSignature
  parentSignature: StageSignature | null
  /** Everything the build needs to make this stage. */
  inputs: StageInputs
  /** Exactly what the signature covers besides name, parent, cache version and dev salt. */
  signedContent: unknown
  /** The commit the stage's git files come from (gitArchive and every later stage of a dimg with git mappings of the project's repository). */
  gitCommit?: string
  /**
   * Where those files were read: equal to gitCommit, or with --dev the work-tree snapshot's tree id. The
   * build records it in the stage so a later plan can compute the latest patch from it.
   */
  gitContentRef?: string
}

/** Facts from outside the config that a dimg's stages depend on. */
export interface DimgFacts {
  /** Required when the dimg has git mappings. */
  revision?: GitRevision
  /** Per git mapping (same index), the dependency checksum of each stage that lists stageDependencies. */
  dependencyChecksums: Partial<Record<DependencyStageName, string>>[]
  /** By importSourceKey: the signature of the stage each import copies from. */
  artifactSignatures: Readonly<Record<string, StageSignature>>
  /** With fromLatest: the digest the base reference resolves to now. */
  fromDigest?: string
  /** With fromDimg…: the last stage signature of the dimg it is built on. */
  baseSignature?: StageSignature
}

export interface PlanOptions {
  dev: boolean
  cacheVersion?: string
}

const IMPORT_STAGE: Record<ImportPosition, StageName> = {
  beforeInstall: 'importsBeforeInstall',
  afterInstall: 'importsAfterInstall',
  beforeSetup: 'importsBeforeSetup',
  afterSetup: 'importsAfterSetup',
}

class StageChain {
  readonly stages: PlannedStage[] = []

  constructor(
    private readonly opts: PlanOptions,
    private readonly revision: GitRevision | undefined,
  ) {}

  get last(): PlannedStage | undefined {
    return this.stages[this.stages.length - 1]
  }

  add(name: StageName, signedContent: unknown, inputs: StageInputs, carriesGit: boolean): void {
    const parentSignature = this.last?.signature ?? null
    const signature = stageSignature({stage: name, parent: parentSignature, content: signedContent, dev: this.opts.dev, cacheVersion: this.opts.cacheVersion})
    this.stages.push({
      name,
      signature,
      parentSignature,
      inputs,
      signedContent,
      ...(carriesGit && this.revision !== undefined
        ? {...(this.revision.repository === undefined ? {gitCommit: this.revision.commit} : {}), gitContentRef: this.revision.contentRef}
        : {}),
    })
  }
}

/** The commands of a user stage, and its own cache version (`shell.<stage>CacheVersion`). */
function userStage(dimg: DimgConfig, stage: UserStageName): {commands: string[]; stageCacheVersion?: string} {
  if (stage === 'buildArtifact') {
    const stageCacheVersion = dimg.shell.buildArtifactCacheVersion
    return {commands: dimg.isArtifact ? (dimg.shell.buildArtifact ?? []) : [], ...(stageCacheVersion === undefined ? {} : {stageCacheVersion})}
  }
  const stageCacheVersion = dimg.shell.stageCacheVersion[stage]
  return {commands: dimg.shell.commands[stage], ...(stageCacheVersion === undefined ? {} : {stageCacheVersion})}
}

/** A user stage's commands run in the sandbox (nothing when it has none). */
function addShellStage(chain: StageChain, dimg: DimgConfig, facts: DimgFacts, stage: UserStageName, carriesGit: boolean): void {
  const {commands, stageCacheVersion} = userStage(dimg, stage)
  if (commands.length === 0) return
  const hasGit = dimg.git.length > 0
  const dependencies: {mapping: number; checksum: string}[] = []
  if ((DEPENDENCY_STAGES as readonly string[]).includes(stage)) {
    facts.dependencyChecksums.forEach((perStage, mapping) => {
      const checksum = perStage[stage as DependencyStageName]
      if (checksum !== undefined) dependencies.push({mapping, checksum})
    })
  }
  const cacheVersion = dimg.shell.cacheVersion
  const signed = {
    commands,
    cacheVersion,
    stageCacheVersion,
    dependencies: dependencies.length === 0 ? undefined : dependencies.map((d) => d.checksum),
  }
  const bringsGit = hasGit && stage !== 'beforeInstall'
  chain.add(
    stage,
    signed,
    {
      kind: 'shell',
      stage,
      commands,
      ...(cacheVersion === undefined ? {} : {cacheVersion}),
      ...(stageCacheVersion === undefined ? {} : {stageCacheVersion}),
      mounts: dimg.mounts,
      ...(bringsGit ? {git: {mappings: dimg.git, revision: facts.revision!}} : {}),
      dependencies,
    },
    carriesGit,
  )
}

/** The `from` stage's signed content and inputs: the base image as written, or the dimg it is built on. */
function fromStage(dimg: DimgConfig, facts: DimgFacts): [unknown, StageInputs] {
  const fromCacheVersion = dimg.fromCacheVersion
  const mounts = signedMounts(dimg.mounts)
  if (dimg.fromDimg) {
    const signature = facts.baseSignature
    if (signature === undefined) throw new Error(`planBaseStages: no signature for the base dimg ${dimg.fromDimg.name}`)
    return [
      {base: signature, fromCacheVersion, mounts},
      {kind: 'from', image: dimg.from, ...(fromCacheVersion === undefined ? {} : {fromCacheVersion}), fromLatest: false, base: {dimg: dimg.fromDimg.name, signature}},
    ]
  }
  if (dimg.fromLatest && facts.fromDigest === undefined) throw new Error('planBaseStages: fromLatest needs facts.fromDigest')
  const digest = dimg.fromLatest ? facts.fromDigest : undefined
  return [
    {image: dimg.from, fromCacheVersion, digest, mounts},
    {kind: 'from', image: dimg.from, ...(fromCacheVersion === undefined ? {} : {fromCacheVersion}), fromLatest: dimg.fromLatest, ...(digest === undefined ? {} : {digest})},
  ]
}

/** The mounts as signed, in a fixed order; undefined (not signed) when there are none. */
function signedMounts(mounts: readonly MountSpec[]): {from: string; fromPath?: string; to: string}[] | undefined {
  if (mounts.length === 0) return undefined
  return mounts.map((m) => ({from: m.from, fromPath: m.fromPath, to: m.to.replace(/\/+$/, '') || '/'})).sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0))
}

/** A mapping as signed: a remote's URL without credentials (a new password is the same repository). */
function signedMapping(m: GitMapping): SignedGitMapping {
  const {stageDependencies: _ignored, ...rest} = m
  return rest.remote === undefined ? rest : {...rest, remote: {...rest.remote, url: urlWithoutCredentials(rest.remote.url)}}
}

/**
 * The stages from `from` up to `importsAfterSetup` (everything whose signature does not depend on what
 * the stages cache holds). Empty stages are left out.
 */
export function planBaseStages(dimg: DimgConfig, facts: DimgFacts, opts: PlanOptions): PlannedStage[] {
  const hasGit = dimg.git.length > 0
  if (hasGit && facts.revision === undefined) throw new Error(`planBaseStages: dimg ${dimg.name ?? '(unnamed)'} has git mappings but no revision was given`)
  const chain = new StageChain(opts, facts.revision)
  let gitDone = false

  chain.add('from', ...fromStage(dimg, facts), false)

  const shellStage = (stage: ShellStageName): void => addShellStage(chain, dimg, facts, stage, gitDone)

  const importStage = (position: ImportPosition): void => {
    const specs = dimg.imports.filter((i) => i.position === position)
    if (specs.length === 0) return
    const imports: ResolvedImport[] = specs.map((spec) => {
      const artifactSignature = facts.artifactSignatures[importSourceKey(spec)]
      if (artifactSignature === undefined) throw new Error(`planBaseStages: no signature for the import source ${spec.artifact}`)
      return {...spec, artifactSignature}
    })
    const signed = {
      imports: imports.map((i) => ({
        artifactSignature: i.artifactSignature,
        add: i.add,
        to: i.to,
        includePaths: i.includePaths,
        excludePaths: i.excludePaths,
        owner: i.owner,
        group: i.group,
      })),
    }
    chain.add(IMPORT_STAGE[position], signed, {kind: 'imports', position, imports}, gitDone)
  }

  shellStage('beforeInstall')
  importStage('beforeInstall')
  if (hasGit) {
    chain.add('gitArchive', {mappings: dimg.git.map(signedMapping)}, {kind: 'gitArchive', mappings: dimg.git, revision: facts.revision!}, true)
    gitDone = true
  }
  shellStage('install')
  importStage('afterInstall')
  shellStage('beforeSetup')
  importStage('beforeSetup')
  shellStage('setup')
  importStage('afterSetup')
  return chain.stages
}

/** The latest patch as the workflow found it, or undefined when it is empty. */
export interface LatestPatch {
  fromCommit: string
  content: PatchContent
}

/**
 * The whole stage list: the base stages, then `gitLatestPatch` (when `patch` is given, i.e. when the
 * mapped files changed since the commit recorded in the last base stage), an artifact's `buildArtifact`
 * (dapp's last artifact stage, after the git patch as there) and `docker` (when any instruction is written).
 */
export function completeStages(dimg: DimgConfig, base: readonly PlannedStage[], patch: LatestPatch | undefined, facts: DimgFacts, opts: PlanOptions): PlannedStage[] {
  const chain = new StageChain(opts, facts.revision)
  chain.stages.push(...base)
  const hasGit = dimg.git.length > 0
  if (patch !== undefined) {
    if (!hasGit) throw new Error('completeStages: a latest patch for a dimg without git mappings')
    chain.add(
      'gitLatestPatch',
      {diff: patch.content.checksum},
      {kind: 'gitLatestPatch', mappings: dimg.git, fromCommit: patch.fromCommit, revision: facts.revision!, changedFiles: patch.content.changedFiles},
      true,
    )
  }
  addShellStage(chain, dimg, facts, 'buildArtifact', hasGit)
  if (Object.keys(dimg.docker).length > 0) {
    chain.add('docker', {instructions: dimg.docker}, {kind: 'docker', instructions: dimg.docker}, hasGit)
  }
  return chain.stages
}

