import {runGit} from './git.js'

/** The branch HEAD is on, or undefined when detached (CI checkouts often are). */
export async function currentBranch(root: string): Promise<string | undefined> {
  try {
    const name = (await runGit(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'])).trim()
    return name || undefined
  } catch {
    return undefined
  }
}
