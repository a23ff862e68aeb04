import {SIGNATURE_RE} from '../stage/signature.js'

/**
 * What every stage image and final image says about itself, as image config labels and (the same values)
 * manifest annotations, so that listings and cleanups read one manifest per image.
 */
export const LABEL = {
  signature: 'dev.slipway.stage.signature',
  stage: 'dev.slipway.stage.name',
  parent: 'dev.slipway.stage.parent',
  dimg: 'dev.slipway.dimg',
  artifact: 'dev.slipway.artifact',
  project: 'dev.slipway.project',
  cacheVersion: 'dev.slipway.cache-version',
  gitCommit: 'dev.slipway.git.commit',
  gitContentRef: 'dev.slipway.git.content-ref',
  imports: 'dev.slipway.imports',
  /** JSON `{"owner[:group]": [uid, gid]}`: owner names of git mappings and imports as the image resolved them. */
  ownerIds: 'dev.slipway.owner-ids',
  dev: 'dev.slipway.dev',
  /** On final images only: the stage signature the image was built from. */
  finalStage: 'dev.slipway.final.stage-signature',
  finalDimg: 'dev.slipway.final.dimg',
} as const

export const CREATED_ANNOTATION = 'org.opencontainers.image.created'

/** Local index-entry annotation naming the registry repository an image was pulled from (for cross-repo mounts). */
export const SOURCE_ANNOTATION = 'dev.slipway.source'

export const SLIPWAY_LABEL_PREFIX = 'dev.slipway.'

/** The unnamed dimg is recorded under this label value. */
export const UNNAMED_DIMG = ''

export interface StageFacts {
  signature: string
  stage: string
  parent: string | null
  dimg: string | null
  isArtifact: boolean
  project: string
  cacheVersion: string
  gitCommit?: string
  gitContentRef?: string
  /** Signatures of the artifact stages this stage or any stage before it imported files from. */
  imports?: string[]
  ownerIds?: Record<string, [number, number]>
  dev: boolean
}

export function stageLabels(f: StageFacts): Record<string, string> {
  return {
    [LABEL.signature]: f.signature,
    [LABEL.stage]: f.stage,
    [LABEL.parent]: f.parent ?? '',
    [LABEL.dimg]: f.dimg ?? UNNAMED_DIMG,
    [LABEL.artifact]: String(f.isArtifact),
    [LABEL.project]: f.project,
    [LABEL.cacheVersion]: f.cacheVersion,
    ...(f.gitCommit ? {[LABEL.gitCommit]: f.gitCommit} : {}),
    ...(f.gitContentRef ? {[LABEL.gitContentRef]: f.gitContentRef} : {}),
    ...(f.imports && f.imports.length > 0 ? {[LABEL.imports]: f.imports.join(',')} : {}),
    ...(f.ownerIds && Object.keys(f.ownerIds).length > 0 ? {[LABEL.ownerIds]: JSON.stringify(f.ownerIds)} : {}),
    ...(f.dev ? {[LABEL.dev]: 'true'} : {}),
  }
}

/** Reads stage facts back from labels or annotations; undefined when they are not a slipway stage's. */
export function parseStageLabels(labels: Record<string, string> | undefined): StageFacts | undefined {
  if (!labels) return undefined
  const signature = labels[LABEL.signature]
  const stage = labels[LABEL.stage]
  const project = labels[LABEL.project]
  if (!signature || !SIGNATURE_RE.test(signature) || !stage || project === undefined) return undefined
  const dimg = labels[LABEL.dimg]
  return {
    signature,
    stage,
    parent: labels[LABEL.parent] || null,
    dimg: dimg === undefined || dimg === UNNAMED_DIMG ? null : dimg,
    isArtifact: labels[LABEL.artifact] === 'true',
    project,
    cacheVersion: labels[LABEL.cacheVersion] ?? '',
    ...(labels[LABEL.gitCommit] ? {gitCommit: labels[LABEL.gitCommit]} : {}),
    ...(labels[LABEL.gitContentRef] ? {gitContentRef: labels[LABEL.gitContentRef]} : {}),
    imports: labels[LABEL.imports] ? labels[LABEL.imports].split(',').filter(Boolean) : [],
    dev: labels[LABEL.dev] === 'true',
  }
}

/** Labels without any slipway key: what a stage inherits from its parent's config. */
export function withoutSlipwayLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(labels ?? {})) if (!k.startsWith(SLIPWAY_LABEL_PREFIX)) out[k] = v
  return out
}

/** What a stage image found under `dimgstage-<signature>` must say about itself to be used as that stage. */
export interface StageTagExpectation {
  signature: string
  cacheVersion: string
  project: string
}

/**
 * How a stage image's labels contradict the tag it was found under (another signature, another cache
 * version, another project), as a phrase for a warning; undefined when they agree. A stage without a project
 * label is judged on its signature and cache version alone.
 */
export function stageLabelMismatch(labels: Record<string, string> | undefined, want: StageTagExpectation): string | undefined {
  const problems: string[] = []
  const signature = labels?.[LABEL.signature]
  if (!signature) problems.push('it has no stage signature label')
  else if (signature !== want.signature) problems.push(`its signature label is ${signature.slice(0, 12)}`)
  const cacheVersion = labels?.[LABEL.cacheVersion]
  if (cacheVersion !== want.cacheVersion) problems.push(`its cache version is ${cacheVersion === undefined ? 'missing' : JSON.stringify(cacheVersion)}, not ${JSON.stringify(want.cacheVersion)}`)
  const project = labels?.[LABEL.project]
  if (project !== undefined && project !== want.project) problems.push(`it belongs to project ${JSON.stringify(project)}`)
  return problems.length > 0 ? problems.join(', ') : undefined
}
