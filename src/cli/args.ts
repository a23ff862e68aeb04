import {Args} from '@oclif/core'

import {SlipwayError} from '../errors.js'
import {parseRepository, type Repository} from '../oci/ref.js'

/** The environment variable a REPO argument falls back to (werf's WERF_REPO). */
export const REPO_ENV = 'SLIPWAY_REPO'

const REPO_TEXT = `The registry repository the stages cache and final images go to, host[:port]/path (e.g. localhost:5000/myproject); default $${REPO_ENV}`

/** REPO as an argument (oclif shows it under ARGUMENTS): optional, since $SLIPWAY_REPO may stand for it. */
export const repoArg = Args.string({description: `${REPO_TEXT}.`})

/** `[DIMG ...] REPO` (parsed by `dimgsAndRepo`; declared for the help's ARGUMENTS section). */
export const dimgsAndRepoArgs = {
  dimg: Args.string({description: 'A dimg name from the dappfile; several may be given; none means every dimg.'}),
  repo: Args.string({
    description: `${REPO_TEXT}. With $${REPO_ENV} set, every argument is a DIMG unless the last starts with a registry host (has a "." or ":" before its first "/", or is localhost/...).`,
  }),
}

/** `[DIMG ...]` for the commands that work on the local stages cache only. */
export const dimgsArgs = {
  dimg: Args.string({description: 'A dimg name from the dappfile; several may be given; none means every dimg.'}),
}

/**
 * `[DIMG ...] REPO`: the last argument is the repository, the ones before it dimg names. With SLIPWAY_REPO
 * set every argument is a dimg name, unless the last one names a registry host the way docker tells a host
 * from a path (a "." or ":" in the first component, or localhost): a REPO on the command line wins.
 */
export function dimgsAndRepo(argv: string[], command: string, env: NodeJS.ProcessEnv = process.env): {dimgs: string[]; repoText: string; repo: Repository} {
  const args = argv.filter(a => !a.startsWith('-'))
  const fromEnv = env[REPO_ENV]
  if (fromEnv && !(args.length > 0 && startsWithRegistryHost(args[args.length - 1]))) {
    return {dimgs: args, repoText: fromEnv, repo: parseRepository(fromEnv)}
  }
  if (args.length === 0) {
    throw new SlipwayError('usage', `${command}: REPO is missing`, {hint: `usage: slipway ${command} [DIMG ...] REPO, e.g. localhost:5000/myproject, or set ${REPO_ENV}`})
  }
  const repoText = args[args.length - 1]
  return {dimgs: args.slice(0, -1), repoText, repo: parseRepository(repoText)}
}

/** A single REPO argument, or SLIPWAY_REPO when it is not given. */
export function repoOrEnv(arg: string | undefined, command: string, env: NodeJS.ProcessEnv = process.env): string {
  const repo = arg ?? env[REPO_ENV]
  if (!repo) throw new SlipwayError('usage', `${command}: REPO is missing`, {hint: `usage: slipway ${command} REPO, e.g. localhost:5000/myproject, or set ${REPO_ENV}`})
  return repo
}

/** docker's rule (distribution/reference, splitDockerDomain) for whether a name's first component is a registry host. */
function startsWithRegistryHost(name: string): boolean {
  const slash = name.indexOf('/')
  if (slash === -1) return false
  const first = name.slice(0, slash)
  return first.includes('.') || first.includes(':') || first === 'localhost'
}
