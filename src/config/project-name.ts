import {basename, resolve} from 'node:path'

import {remoteOriginUrl} from '../git/git.js'

/**
 * The project's name: the basename of the git remote `origin` URL (without `.git`), else the name of the
 * git work tree's top directory (`root`), else the name of the project directory (`dir`, when `root` is
 * undefined: not in a git repository).
 */
export async function projectName(root: string | undefined, dir: string): Promise<string> {
  if (root !== undefined) {
    const url = await remoteOriginUrl(root)
    const fromUrl = url === undefined ? undefined : repositoryNameOfUrl(url)
    return fromUrl ?? basename(root)
  }
  return basename(resolve(dir))
}

/** `https://host/group/app.git`, `git@host:group/app.git`, `/srv/app/` → `app`. */
export function repositoryNameOfUrl(url: string): string | undefined {
  const last = url
    .trim()
    .replace(/[/\\]+$/, '')
    .split(/[/\\:]/)
    .pop()
  const name = last?.replace(/\.git$/, '')
  return name === undefined || name === '' ? undefined : name
}

/** A name werf would accept for `project:` (its slug rule), made from a derived project name. */
export function suggestedProjectName(name: string): string {
  const slugged = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '')
  return slugged === '' ? 'my-project' : slugged
}
