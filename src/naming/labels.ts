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
  dev: 'dev.slipway.dev',
  /** On final images only: the stage signature the image was built from. */
  finalStage: 'dev.slipway.final.stage-signature',
  finalDimg: 'dev.slipway.final.dimg',
} as const

export const CREATED_ANNOTATION = 'org.opencontainers.image.created'

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
    ...(f.dev ? {[LABEL.dev]: 'true'} : {}),
  }
}

/** Reads stage facts back from labels or annotations; undefined when they are not a slipway stage's. */
export function parseStageLabels(labels: Record<string, string> | undefined): StageFacts | undefined {
  if (!labels) return undefined
  const signature = labels[LABEL.signature]
  const stage = labels[LABEL.stage]
  const project = labels[LABEL.project]
  if (!signature || !/^[a-f0-9]{64}$/.test(signature) || !stage || project === undefined) return undefined
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
