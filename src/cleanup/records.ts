import {SlipwayError} from '../errors.js'
import {STAGE_NAMES} from '../stage/names.js'
import {SIGNATURE_RE, type StageSignature} from '../stage/signature.js'

/** One stage image as its labels describe it (SPEC "Stage rules": every stage image carries these). */
export interface StageRecord {
  /** From the tag: `REPO:dimgstage-<signature>` or `dimgstage-<project>:<signature>`. */
  signature: StageSignature
  parentSignature: StageSignature | null
  /** null for the unnamed dimg. */
  dimg: string | null
  /** One of STAGE_NAMES. */
  stage: string
  project: string
  cacheVersion: string
  /** The git commit(s) the stage's files came from (40 or 64 hex digits); empty when none. */
  commits: string[]
  /** Signatures of the artifact stages an imports stage copied files from (and of the stage a `from` built on a dimg stands on). */
  importSources: StageSignature[]
  /** When the stage image was created: a Date or an ISO 8601 string. */
  created: Date | string
  /** Marks a stage of the dev cache (`--dev`), which cleanup policies never touch. Any value but
   *  undefined, null or false counts as dev: a stage that may be a dev stage is left alone. */
  dev?: boolean
  size?: number
  tags?: string[]
}

/**
 * What a workflow could read from one stage image. Only the signature (from the tag) is certain; every
 * other field is what its label said, or undefined when the label is missing, so a workflow can pass raw
 * values and leave the judging to `classifyStages`. A StageRecord is a StageInput.
 */
export type StageInput = {signature: string} & {[K in Exclude<keyof StageRecord, 'signature'>]?: unknown}

/** A final image (`REPO/DIMG:TAG` or `REPO:TAG`) and the signature of the stage it was built from. */
export interface FinalImageRecord {
  ref: string
  /** null (or a malformed value) when the image has no stage label: it uses no stage. */
  stageSignature: StageSignature | null
}

/** A stage whose labels were all present and well formed, with its creation time as epoch ms. */
export type KnownStage = Omit<StageRecord, 'created' | 'dev'> & {createdMs: number}

/** A stage the policies must not judge: labels missing or malformed (`unknown`), or not this project's normal cache. */
export interface SetAsideStage {
  signature: string
  why: 'unknown' | 'other-project' | 'dev-cache'
  detail: string
  size?: number
  tags?: string[]
}

export interface ClassifiedStages {
  known: Map<StageSignature, KnownStage>
  setAside: SetAsideStage[]
}

const COMMIT_RE = /^[a-f0-9]{40}(?:[a-f0-9]{24})?$/
const STAGE_NAME_SET: ReadonlySet<string> = new Set(STAGE_NAMES)

export function isSignature(value: unknown): value is StageSignature {
  return typeof value === 'string' && SIGNATURE_RE.test(value)
}

export function isCommit(value: unknown): value is string {
  return typeof value === 'string' && COMMIT_RE.test(value)
}

/** Epoch ms of a Date or an ISO 8601 string with a date part; undefined when it is neither. */
export function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime()
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

/** The parent and import links a stage's labels give, ignoring any that are malformed. */
export function linksOf(input: StageInput): {parentSignature: StageSignature | null; importSources: StageSignature[]} {
  return {
    parentSignature: isSignature(input.parentSignature) ? input.parentSignature : null,
    importSources: Array.isArray(input.importSources) ? input.importSources.filter(isSignature) : [],
  }
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0
}

/** The first label that is missing or malformed, as "<field>: <what is wrong>"; undefined when all are fine. */
function labelProblem(input: StageInput): string | undefined {
  if (!isSignature(input.signature)) return 'signature: not 64 hex digits'
  if (input.parentSignature !== null && !isSignature(input.parentSignature)) return 'parentSignature: missing or not a signature'
  if (input.dimg !== null && !isNonEmptyString(input.dimg)) return 'dimg: missing'
  if (typeof input.stage !== 'string' || !STAGE_NAME_SET.has(input.stage)) return 'stage: missing or not a stage name'
  if (!isNonEmptyString(input.cacheVersion)) return 'cacheVersion: missing'
  if (!Array.isArray(input.commits) || !input.commits.every(isCommit)) return 'commits: missing or not commit ids'
  if (!Array.isArray(input.importSources) || !input.importSources.every(isSignature)) return 'importSources: missing or not signatures'
  if (timeOf(input.created) === undefined) return 'created: missing or not a date'
  return undefined
}

function extras(input: StageInput): {size?: number; tags?: string[]} {
  const out: {size?: number; tags?: string[]} = {}
  if (typeof input.size === 'number' && Number.isFinite(input.size) && input.size >= 0) out.size = input.size
  if (Array.isArray(input.tags) && input.tags.every((t) => typeof t === 'string')) out.tags = [...input.tags].sort()
  return out
}

/**
 * Splits the stages into those the policies may judge (this project's normal cache, labels intact) and
 * those set aside. The project guard holds even though workflows list one project's stages only.
 */
export function classifyStages(inputs: readonly StageInput[], project: string): ClassifiedStages {
  const known = new Map<StageSignature, KnownStage>()
  const setAside: SetAsideStage[] = []
  const seen = new Set<string>()
  for (const input of inputs) {
    if (seen.has(input.signature)) {
      throw new SlipwayError('internal', `stage ${input.signature} is listed twice in the stages to clean up`)
    }
    seen.add(input.signature)
    const base = {signature: input.signature, ...extras(input)}
    if (!isNonEmptyString(input.project)) {
      setAside.push({...base, why: 'unknown', detail: 'project: missing'})
      continue
    }
    if (input.project !== project) {
      setAside.push({...base, why: 'other-project', detail: `belongs to project "${input.project}"`})
      continue
    }
    if (input.dev !== undefined && input.dev !== null && input.dev !== false) {
      setAside.push({...base, why: 'dev-cache', detail: 'stage of the dev cache'})
      continue
    }
    const problem = labelProblem(input)
    if (problem !== undefined) {
      setAside.push({...base, why: 'unknown', detail: `label ${problem}`})
      continue
    }
    known.set(input.signature, {
      signature: input.signature,
      parentSignature: input.parentSignature as StageSignature | null,
      dimg: input.dimg as string | null,
      stage: input.stage as string,
      project: input.project,
      cacheVersion: input.cacheVersion as string,
      commits: [...new Set(input.commits as string[])].sort(),
      importSources: [...new Set(input.importSources as string[])].sort(),
      createdMs: timeOf(input.created)!,
      ...extras(input),
    })
  }
  return {known, setAside}
}
