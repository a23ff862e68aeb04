/** A token scope: `repository:<path>:pull,push`, `registry:catalog:*`. */
export interface Scope {
  type: 'repository' | 'registry'
  name: string
  actions: string[]
}

export type Action = 'pull' | 'push' | 'delete'

export function repoScope(path: string, ...actions: Action[]): Scope {
  return {type: 'repository', name: path, actions}
}

export const CATALOG_SCOPE: Scope = {type: 'registry', name: 'catalog', actions: ['*']}

/** Merges scopes on the same resource and renders them in a stable order (a cache key too). */
export function scopeStrings(scopes: readonly Scope[]): string[] {
  const merged = new Map<string, Set<string>>()
  for (const s of scopes) {
    const key = `${s.type}:${s.name}`
    const set = merged.get(key) ?? new Set<string>()
    for (const a of s.actions) set.add(a)
    merged.set(key, set)
  }
  return [...merged.entries()]
    .map(([key, actions]) => `${key}:${[...actions].sort(byActionOrder).join(',')}`)
    .sort()
}

const ORDER = ['pull', 'push', 'delete', '*']
function byActionOrder(a: string, b: string): number {
  return ORDER.indexOf(a) - ORDER.indexOf(b)
}
