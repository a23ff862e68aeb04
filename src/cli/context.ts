import {SlipwayError} from '../errors.js'
import {parseInsecureHost} from '../registry/tls/insecure-hosts.js'
import {type ContextOptions, WorkflowContext} from '../workflows/context.js'
import {interruptSignal} from './interrupt.js'
import {createReporter} from './progress.js'

export interface ContextFlags {
  'registry-username'?: string
  'registry-password'?: string
  'insecure-registry'?: string[]
  jobs?: number
  quiet?: boolean
  verbose?: boolean
}

/**
 * The workflow context for a command's flags, logging at --quiet/--verbose (--json does not change it). The explicit
 * credentials are for `credentialsFor` only, the registry of the command's REPO (or REF); a command
 * without one (e.g. `dimg build`) sends them nowhere. `given` replaces what the flags would give
 * (`registry login` brings its own credentials and reporter).
 */
export function contextFromFlags(flags: ContextFlags, credentialsFor?: string, given: ContextOptions = {}): WorkflowContext {
  const username = flags['registry-username']
  const password = flags['registry-password']
  if (Boolean(username) !== Boolean(password)) {
    throw new SlipwayError('usage', '--registry-username and --registry-password go together', {
      hint: 'give both (the password preferably through SLIPWAY_REGISTRY_PASSWORD), or neither to use docker config.json',
    })
  }
  const insecureRegistries = insecureHosts(flags['insecure-registry'])
  return new WorkflowContext({
    // a reporter given (login's, made before the context for its password warnings) is the only one made
    reporter: given.reporter ?? createReporter(flags.quiet ? 'quiet' : flags.verbose ? 'verbose' : 'normal'),
    jobs: flags.jobs,
    insecureRegistries,
    credentials: username && password ? {username, password, registry: credentialsFor, from: givenAs(username, password)} : undefined,
    signal: interruptSignal,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    ...given,
  })
}

/** Whether the credentials came from SLIPWAY_REGISTRY_USERNAME/PASSWORD (oclif fills the flags from them). */
function givenAs(username: string, password: string): 'flags' | 'environment' {
  const env = process.env
  return env.SLIPWAY_REGISTRY_USERNAME === username && env.SLIPWAY_REGISTRY_PASSWORD === password ? 'environment' : 'flags'
}

/** The --insecure-registry values, each checked (a URL or a path is a usage error). */
export function insecureHosts(given: string[] | undefined): string[] {
  const hosts = given ?? []
  for (const host of hosts) parseInsecureHost(host)
  return hosts
}
