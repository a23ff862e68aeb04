import type {StageSignature} from '../stage/signature.js'
import {bySignature, sizeAndTags, type DeletionPlan, type KeptStage, type PlannedDeletion} from './deletion-plan.js'
import {StageGraph, type StageLinks} from './graph.js'
import {classifyStages, linksOf, type StageInput} from './records.js'

export interface FlushOptions {
  project: string
  /** Also delete the project's dev-cache stages (default: they are kept). */
  includeDev?: boolean
}

/**
 * The deletion plan of `dimg stages flush local|repo`: every stage of the project's stages cache, including
 * stages whose labels are missing or malformed (they sit in the project's cache namespace), dependents
 * first. Stages labelled with another project are kept. Final images are never in `stages`, so never
 * deleted. No age grace: flushing is an explicit request to drop everything.
 */
export function flushPlan(stages: readonly StageInput[], options: FlushOptions): DeletionPlan {
  const {known, setAside} = classifyStages(stages, options.project)
  const inputs = new Map(stages.map((s) => [s.signature, s]))
  const keep: KeptStage[] = []
  const doomed = new Map<StageSignature, PlannedDeletion>()
  for (const s of known.values()) {
    doomed.set(s.signature, {signature: s.signature, after: [], dimg: s.dimg, stage: s.stage, reasons: ['flush'], details: ['flush: all stages of the project'], ...sizeAndTags(s)})
  }
  for (const s of setAside) {
    if (s.why === 'other-project' || (s.why === 'dev-cache' && !options.includeDev)) {
      keep.push({signature: s.signature, reason: s.why, detail: s.detail, selectedBy: []})
      continue
    }
    const what = s.why === 'unknown' ? `unknown stage (${s.detail})` : 'dev-cache stage'
    const raw = inputs.get(s.signature)!
    const names = {dimg: typeof raw.dimg === 'string' ? raw.dimg : null, stage: typeof raw.stage === 'string' ? raw.stage : null}
    doomed.set(s.signature, {signature: s.signature, after: [], ...names, reasons: ['flush'], details: [`flush: ${what} of the project`], ...sizeAndTags(s)})
  }
  const links = new Map<StageSignature, StageLinks>([...doomed.keys()].map((sig) => [sig, linksOf(inputs.get(sig)!)]))
  const graph = new StageGraph(links)
  const all = new Set(doomed.keys())
  return {delete: graph.dependentsFirst(all).map((sig) => ({...doomed.get(sig)!, after: graph.dependentsWithin(sig, all)})), keep: keep.sort(bySignature)}
}
