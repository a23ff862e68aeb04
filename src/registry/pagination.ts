import {SlipwayError} from '../errors.js'
import type {Scope} from './auth/scope.js'
import {garbageError} from './errors.js'
import {discard, header, readCapped} from './http.js'
import {DEFAULTS} from './options.js'
import type {Transport} from './transport.js'

/** The `rel="next"` target of a Link header, as written (an opaque, usually relative URL). */
export function nextLink(value: string | undefined): string | undefined {
  if (!value) return undefined
  for (const part of value.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part)
    if (m && /(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(m[2])) return m[1]
  }
  return undefined
}

export interface ListRequest {
  registry: string
  path: string
  /** JSON field holding the page's entries: `tags` or `repositories`. */
  field: 'tags' | 'repositories'
  scopes: readonly Scope[]
  what: string
  /** Statuses meaning "nothing to list" (a repository that does not exist). */
  empty?: readonly number[]
}

/** Follows `Link: <…>; rel="next"` across pages of `n` entries, with caps on entries and pages. */
export async function listAllPages(t: Transport, req: ListRequest): Promise<string[]> {
  const out: string[] = []
  let next: string | undefined = `${req.path}?n=${DEFAULTS.listPageSize}`
  const seen = new Set<string>()
  for (let page = 0; next !== undefined; page++) {
    if (page >= t.opts.maxListPages || seen.has(next)) {
      throw new SlipwayError('registry', `listing ${req.what} on ${req.registry} did not end after ${page} pages`, {hint: 'the registry keeps returning a next page'})
    }
    seen.add(next)
    const res = await t.request({registry: req.registry, method: 'GET', path: next, scopes: req.scopes, ok: [200, ...(req.empty ?? [])], what: req.what})
    if (res.status !== 200) {
      discard(res.body)
      return out
    }
    const bytes = await readCapped(res.body, 64 * 1024 * 1024)
    let doc: unknown
    try {
      doc = JSON.parse(bytes?.toString('utf8') ?? '')
    } catch {
      throw garbageError(res.url.host, req.what, 'the listing is not JSON')
    }
    const entries = (doc as Record<string, unknown> | null)?.[req.field]
    if (entries !== null && entries !== undefined && (!Array.isArray(entries) || entries.some((e) => typeof e !== 'string'))) {
      throw garbageError(res.url.host, req.what, `"${req.field}" is not a list of strings`)
    }
    for (const e of (entries ?? []) as string[]) out.push(e)
    if (out.length > t.opts.maxListEntries) {
      throw new SlipwayError('registry', `${req.what} on ${req.registry} has more than ${t.opts.maxListEntries} entries`, {hint: 'clean the repository up first'})
    }
    const link = nextLink(header(res.headers, 'link'))
    next = link === undefined ? undefined : new URL(link, res.url).href
  }
  return out
}
