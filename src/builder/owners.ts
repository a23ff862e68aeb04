import {type PathMapping, resolveImageUser} from '../build/index.js'
import type {GitMapping, ImportSpec} from '../config/types.js'
import {LABEL} from '../naming/index.js'
import type {ImageParts} from '../image/index.js'

/** `owner[:group]` specs resolved against an image, as `[uid, gid]`: recorded in a label by the stage that mapped them. */
export type OwnerIds = Record<string, [number, number]>

const NUMERIC = /^\d+$/

function spec(owner?: string, group?: string): string {
  return `${owner ?? '0'}${group === undefined ? '' : `:${group}`}`
}

/** Whether the ids of owner/group need the image's /etc/passwd or /etc/group (a name, or a uid whose primary group is asked). */
export function needsUserLookup({owner, group}: {owner?: string; group?: string}): boolean {
  if (owner !== undefined && (!NUMERIC.test(owner) || group === undefined)) return true
  return group !== undefined && !NUMERIC.test(group)
}

/** The owner ids an image's stages recorded. */
export function recordedOwnerIds(image: ImageParts): OwnerIds {
  const raw = image.config.config?.Labels?.[LABEL.ownerIds]
  if (!raw) return {}
  try {
    const parsed = JSON.parse(raw) as unknown
    if (!parsed || typeof parsed !== 'object') return {}
    const out: OwnerIds = {}
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (Array.isArray(v) && v.length === 2 && v.every(n => Number.isSafeInteger(n) && (n as number) >= 0)) out[k] = [v[0] as number, v[1] as number]
    }
    return out
  } catch {
    return {}
  }
}

/**
 * Path mappings with owner/group as ids, resolved as `chown` in the image would: from ids recorded by the
 * stage that first mapped them, else from the parent's unpacked /etc/passwd and /etc/group (`root()`
 * unpacks it only then). Returns the mappings and the ids that needed a lookup, to be recorded.
 */
export async function mappingsWithIds(mappings: (GitMapping | ImportSpec)[], parent: ImageParts | undefined, root: () => Promise<string>): Promise<{mappings: PathMapping[]; ownerIds: OwnerIds}> {
  const recorded = parent ? recordedOwnerIds(parent) : {}
  const ownerIds: OwnerIds = {}
  const out: PathMapping[] = []
  for (const m of mappings) {
    const {owner, group} = m
    let ids: {uid?: number; gid?: number} = {}
    if (owner !== undefined || group !== undefined) {
      const key = spec(owner, group)
      let pair = recorded[key]
      if (!pair && !needsUserLookup(m)) pair = [Number(owner ?? 0), Number(group)]
      if (!pair) {
        const user = await resolveImageUser(await root(), key)
        pair = [user.uid, user.gid]
      }
      if (needsUserLookup(m)) ownerIds[key] = pair
      ids = {...(owner === undefined ? {} : {uid: pair[0]}), gid: pair[1]}
    }
    out.push({
      add: m.add,
      to: m.to,
      includePaths: m.includePaths,
      excludePaths: m.excludePaths,
      ...(ids.uid === undefined ? {} : {owner: ids.uid}),
      ...(ids.gid === undefined ? {} : {group: ids.gid}),
    })
  }
  return {mappings: out, ownerIds}
}
