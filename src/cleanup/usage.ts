import type {StageSignature} from '../stage/signature.js'
import {StageGraph, type StageLinks} from './graph.js'
import {isSignature, linksOf, type FinalImageRecord, type StageInput} from './records.js'

/**
 * For each stage a final image uses, the refs of those final images (sorted). A final image uses the stage
 * it was built from and, transitively, every parent and import source of a stage it uses.
 */
export function finalImageUsers(graph: StageGraph, finals: readonly FinalImageRecord[]): Map<StageSignature, string[]> {
  const users = new Map<StageSignature, Set<string>>()
  for (const final of finals) {
    if (!isSignature(final.stageSignature)) continue
    for (const sig of graph.walk([final.stageSignature], 'dependencies').keys()) {
      let set = users.get(sig)
      if (set === undefined) users.set(sig, (set = new Set()))
      set.add(final.ref)
    }
  }
  return new Map([...users].map(([sig, refs]) => [sig, [...refs].sort()]))
}

/**
 * The `usedBy` column of `dimg stages list`: every listed signature, in sorted order, with the refs of the
 * final images that use it ([] when none does). Links are followed wherever the labels give them, with no
 * project or label checks: a listing shows what it was given.
 */
export function usageIndex(stages: readonly StageInput[], finals: readonly FinalImageRecord[]): Map<string, string[]> {
  const links = new Map<StageSignature, StageLinks>()
  for (const s of stages) {
    links.set(s.signature, linksOf(s))
  }
  const users = finalImageUsers(new StageGraph(links), finals)
  return new Map([...links.keys()].sort().map((sig) => [sig, users.get(sig) ?? []]))
}
