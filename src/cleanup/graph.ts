import type {StageSignature} from '../stage/signature.js'

/** What the graph needs of a stage: the stages it was built on. */
export interface StageLinks {
  parentSignature: StageSignature | null
  importSources: readonly StageSignature[]
}

/**
 * The stages a stage depends on are its parent and its import sources ("uses" edges); its dependents are
 * the stages built on it or importing from it. Edges to signatures outside the known set are dropped:
 * a stage whose parent is gone (or unknown) simply has no parent here.
 */
export class StageGraph {
  private readonly dependencyMap = new Map<StageSignature, StageSignature[]>()
  private readonly dependentMap = new Map<StageSignature, StageSignature[]>()

  constructor(readonly stages: ReadonlyMap<StageSignature, StageLinks>) {
    const sorted = [...stages.keys()].sort()
    for (const sig of sorted) {
      this.dependencyMap.set(sig, [])
      this.dependentMap.set(sig, [])
    }
    for (const sig of sorted) {
      const stage = stages.get(sig)!
      const uses = new Set<StageSignature>(stage.importSources)
      if (stage.parentSignature !== null) uses.add(stage.parentSignature)
      for (const dep of [...uses].sort()) {
        if (dep === sig || !stages.has(dep)) continue
        this.dependencyMap.get(sig)!.push(dep)
        this.dependentMap.get(dep)!.push(sig)
      }
    }
  }

  dependencies(sig: StageSignature): readonly StageSignature[] {
    return this.dependencyMap.get(sig) ?? []
  }

  dependents(sig: StageSignature): readonly StageSignature[] {
    return this.dependentMap.get(sig) ?? []
  }

  /**
   * Breadth-first walk from `starts` (taken in sorted order) along dependencies or dependents. Returns each
   * stage reached (starts included) with the start it was first reached from, so callers can say why.
   */
  walk(starts: Iterable<StageSignature>, direction: 'dependencies' | 'dependents'): Map<StageSignature, StageSignature> {
    const origin = new Map<StageSignature, StageSignature>()
    const queue: StageSignature[] = []
    for (const s of [...new Set(starts)].sort()) {
      if (!this.stages.has(s) || origin.has(s)) continue
      origin.set(s, s)
      queue.push(s)
    }
    for (let i = 0; i < queue.length; i++) {
      const sig = queue[i]
      const next = direction === 'dependencies' ? this.dependencies(sig) : this.dependents(sig)
      for (const n of next) {
        if (origin.has(n)) continue
        origin.set(n, origin.get(sig)!)
        queue.push(n)
      }
    }
    return origin
  }

  /** The stages of `subset` built on `sig` or importing from it, sorted. */
  dependentsWithin(sig: StageSignature, subset: ReadonlySet<StageSignature>): StageSignature[] {
    return this.dependents(sig).filter((d) => subset.has(d))
  }

  /**
   * `subset` in deletion order: a stage comes before every stage of the subset it depends on, so a cleanup
   * killed midway leaves a cache where every remaining stage still has its parent and import sources.
   * Ties are broken by signature. A dependency cycle (only possible with forged labels) is emitted last,
   * sorted.
   */
  dependentsFirst(subset: ReadonlySet<StageSignature>): StageSignature[] {
    const pending = new Map<StageSignature, number>() // dependents inside the subset not yet emitted
    for (const sig of subset) pending.set(sig, this.dependents(sig).filter((d) => subset.has(d)).length)
    const order: StageSignature[] = []
    let ready = [...pending].filter(([, n]) => n === 0).map(([s]) => s)
    while (ready.length > 0) {
      ready.sort()
      const next: StageSignature[] = []
      for (const sig of ready) {
        order.push(sig)
        pending.delete(sig)
        for (const dep of this.dependencies(sig)) {
          const left = pending.get(dep)
          if (left === undefined) continue
          pending.set(dep, left - 1)
          if (left === 1) next.push(dep)
        }
      }
      ready = next
    }
    order.push(...[...pending.keys()].sort())
    return order
  }
}
