import {filesFromLayers, type PathMapping} from '../layer/index.js'
import {accountFilesIn, type AccountFiles, userIn} from '../sandbox/index.js'
import type {GitMapping, ImportSpec} from '../config/types.js'
import {LABEL} from '../naming/index.js'
import type {Image, ImageParts} from '../image/index.js'

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

/** How a builder gets the image's /etc/passwd and /etc/group, asked only when a name must be resolved. */
export type AccountsReader = () => Promise<AccountFiles>

/** From a root already unpacked. */
export const accountsInRoot =
  (root: string): AccountsReader =>
  () =>
    accountFilesIn(root)

const ACCOUNT_PATHS = ['etc/passwd', 'etc/group'] as const

/**
 * From the image's layers, topmost first, wherever their bytes are (the store or a registry): each file from
 * the topmost layer that has it, layers below never read. Only when the layers cannot tell (a hard link, a
 * replaced /etc) is the image unpacked, by `root()`.
 */
export function accountsInLayers(image: Image, root: () => Promise<string>, signal?: AbortSignal): AccountsReader {
  return async () => {
    const layers = [...image.manifest.layers].reverse().map(l => ({
      label: l.digest,
      open: () => image.source.openBlob(l),
      // a registry's bytes are checked against the digest at the end of the blob; the store's were when written
      readToEnd: image.source.repository !== undefined,
    }))
    const found = await filesFromLayers(layers, [...ACCOUNT_PATHS], signal)
    if (!found) return accountFilesIn(await root())
    const text = (path: string): string | null => found.get(path)?.toString('utf8') ?? null
    return {passwd: text('etc/passwd'), group: text('etc/group')}
  }
}

/**
 * Path mappings with owner/group as ids, resolved as `chown` in the image would: from ids recorded by the
 * stage that first mapped them, else from the image's /etc/passwd and /etc/group (`accounts()` is read only
 * then, once). Returns the mappings and the ids that needed a lookup, to be recorded.
 */
export async function mappingsWithIds(mappings: (GitMapping | ImportSpec)[], parent: ImageParts | undefined, accounts: AccountsReader): Promise<{mappings: PathMapping[]; ownerIds: OwnerIds}> {
  const recorded = parent ? recordedOwnerIds(parent) : {}
  let files: Promise<AccountFiles> | undefined
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
        files ??= accounts()
        const user = userIn(await files, key)
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
