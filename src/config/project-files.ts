import {lstatSync, readdirSync, readFileSync, realpathSync, statSync} from 'node:fs'
import {isAbsolute, join, relative, resolve, sep} from 'node:path'

import picomatch from 'picomatch'

import {GoError} from './template/values.js'
import type {TemplateFiles} from './template/index.js'

/**
 * `.Files.Get` and `.Files.Glob` over the project directory, as dapp and werf give them to config templates,
 * but never outside it: a path with `..` that leaves the directory, an absolute path, or a symlink whose
 * target is outside is refused (an error in the template, at the call) rather than read.
 */
export function projectFiles(dir: string): TemplateFiles {
  const root = realpathSync(dir)
  return {
    get(path) {
      const file = insideProject(root, path, '.Files.Get')
      let real: string
      try {
        real = realpathSync(file)
      } catch {
        return '' // dapp and werf give '' (with a warning) for a file that does not exist
      }
      if (!isWithin(root, real)) throw new GoError(`.Files.Get ${JSON.stringify(path)}: the file is a symlink to ${real}, outside the project directory`)
      if (!statSync(real).isFile()) return ''
      return readFileSync(real, 'utf8')
    },
    glob(pattern) {
      insideProject(root, pattern, '.Files.Glob')
      const matches = picomatch(pattern.replace(/^\.\//, ''), {dot: true})
      const out: Record<string, string> = {}
      for (const path of walk(root, '')) {
        if (!matches(path)) continue
        // Like werf: symlinks to regular files are followed (here only when they stay inside), others skipped.
        let real: string
        try {
          real = realpathSync(join(root, path))
        } catch {
          continue
        }
        if (isWithin(root, real) && statSync(real).isFile()) out[path] = readFileSync(real, 'utf8')
      }
      return out
    },
  }
}

function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

function insideProject(root: string, path: string, what: string): string {
  if (isAbsolute(path)) throw new GoError(`${what} ${JSON.stringify(path)}: paths are relative to the project directory`)
  const file = resolve(root, path)
  if (!isWithin(root, file)) throw new GoError(`${what} ${JSON.stringify(path)}: the path leaves the project directory`)
  return file
}

/** Project-relative paths (with `/`) of the files and symlinks below `root`; `.git` and symlinked dirs are not entered. */
function* walk(root: string, rel: string): Generator<string> {
  for (const entry of readdirSync(join(root, rel), {withFileTypes: true}).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`
    if (entry.isDirectory()) {
      if (path !== '.git') yield* walk(root, path)
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      yield path
    }
  }
}

/** The `*.tmpl` files below `dir` (`.dappfiles` or `.werf`) by their relative names, the partials of a config. */
export function configPartials(projectDir: string, dir: string): Map<string, string> {
  const partials = new Map<string, string>()
  const root = realpathSync(projectDir)
  let top: string
  try {
    if (!lstatSync(join(root, dir)).isDirectory()) return partials
    top = join(root, dir)
  } catch {
    return partials
  }
  for (const path of walk(top, '')) {
    if (!path.endsWith('.tmpl')) continue
    const real = realpathSync(join(top, path))
    if (!isWithin(root, real)) throw new GoError(`${dir}/${path} is a symlink to ${real}, outside the project directory`)
    partials.set(path, readFileSync(real, 'utf8'))
  }
  return partials
}
