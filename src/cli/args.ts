import {SlipwayError} from '../errors.js'
import {parseRepository, type Repository} from '../oci/ref.js'

/** `[DIMG ...] REPO`: the last argument is the repository, the ones before it dimg names. */
export function dimgsAndRepo(argv: string[], command: string): {dimgs: string[]; repoText: string; repo: Repository} {
  const args = argv.filter(a => !a.startsWith('-'))
  if (args.length === 0) {
    throw new SlipwayError('usage', `${command}: REPO is missing`, {hint: `usage: slipway ${command} [DIMG ...] REPO, e.g. localhost:5000/myproject`})
  }
  const repoText = args[args.length - 1]
  return {dimgs: args.slice(0, -1), repoText, repo: parseRepository(repoText)}
}
