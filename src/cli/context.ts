import {SlipwayError} from '../errors.js'
import {WorkflowContext} from '../workflows/context.js'
import {createReporter} from './progress.js'

export interface ContextFlags {
  'registry-username'?: string
  'registry-password'?: string
  jobs?: number
  json?: boolean
}

/** The workflow context for a command's flags; --json keeps stderr to warnings and errors. */
export function contextFromFlags(flags: ContextFlags): WorkflowContext {
  const username = flags['registry-username']
  const password = flags['registry-password']
  if (Boolean(username) !== Boolean(password)) {
    throw new SlipwayError('usage', '--registry-username and --registry-password go together', {
      hint: 'give both (the password preferably through SLIPWAY_REGISTRY_PASSWORD), or neither to use docker config.json',
    })
  }
  return new WorkflowContext({
    reporter: createReporter({quiet: flags.json}),
    jobs: flags.jobs,
    credentials: username && password ? {username, password} : undefined,
  })
}
