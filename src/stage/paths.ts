import picomatch from 'picomatch'

/**
 * Which repository files a git mapping (or import) covers. Globs are relative to the mapping's `add`
 * directory and match a file when they match its path or one of its parent directories, so `src` and
 * `src/**` both cover everything below `src`, as dapp's include/exclude paths did.
 */

export interface PathFilter {
  /** Absolute path inside the repository/image that is mapped (`/` = everything). */
  add: string
  includePaths: readonly string[]
  excludePaths: readonly string[]
}

export type PathMatcher = (relativePath: string) => boolean

/** A matcher for paths relative to `add` that accepts a path when any glob matches it or a parent directory. */
export function globsMatcher(globs: readonly string[]): PathMatcher {
  const tests = globs.map((g) => picomatch(g.replace(/\/+$/, ''), {dot: true}))
  return (path) => {
    if (tests.length === 0) return false
    for (let p = path; p !== ''; p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') {
      if (tests.some((t) => t(p))) return true
    }
    return false
  }
}

/** `add` as a repository-relative prefix: '' for the root, else `dir/`. */
function addPrefix(add: string): string {
  const trimmed = add.replace(/^\/+|\/+$/g, '')
  return trimmed === '' ? '' : `${trimmed}/`
}

/**
 * Maps a repository path (no leading slash) through a filter: the path relative to `add` when the filter
 * covers it, else undefined.
 */
export function pathMapper(filter: PathFilter): (repoPath: string) => string | undefined {
  const prefix = addPrefix(filter.add)
  const include = filter.includePaths.length === 0 ? () => true : globsMatcher(filter.includePaths)
  const exclude = globsMatcher(filter.excludePaths)
  return (repoPath) => {
    let rel: string
    if (prefix === '') rel = repoPath
    else if (repoPath.startsWith(prefix)) rel = repoPath.slice(prefix.length)
    else if (`${repoPath}/` === prefix) rel = '' // `add` names a single file
    else return undefined
    const name = rel === '' ? repoPath.slice(repoPath.lastIndexOf('/') + 1) : rel
    if (!include(name) || exclude(name)) return undefined
    return rel === '' ? name : rel
  }
}
