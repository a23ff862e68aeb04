import {Args} from '@oclif/core'

import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {authFileFlag, hostArg} from '../../cli/login-flags.js'
import {type LogoutResult, parseLoginTarget, registryLogout} from '../../workflows/registry-login.js'

export default class RegistryLogout extends WorkflowCommand<LogoutResult> {
  static summary = 'Remove the saved credentials for a registry.'
  static description = describeCommand(
    'Removes the registry\'s entry from docker\'s config.json (or --auth-file / $REGISTRY_AUTH_FILE), keeping every other entry, and erases what the credential helper the file names for it holds.',
    'When there was nothing to remove it says so and exits 0, as docker logout does; it names other files that still hold credentials for the registry (podman\'s auth.json, docker\'s config.json), which it does not edit.',
  )
  static usage = 'registry logout [HOST]'
  static examples = [
    '<%= config.bin %> registry logout registry.example.com',
    '<%= config.bin %> registry logout quay.io/team --auth-file auth.json',
  ]
  static args = {
    host: Args.string({
      description: 'The registry, host[:port], or host/namespace as it was logged in to. Default: $CI_REGISTRY in GitLab CI.',
    }),
  }
  static flags = {...authFileFlag}

  async run(): Promise<LogoutResult> {
    const {args, flags} = await this.parse(RegistryLogout)
    const target = parseLoginTarget(hostArg(args.host))
    const ctx = this.context(flags)
    const result = await registryLogout(ctx, target, flags['auth-file'] ? {authFile: flags['auth-file']} : {})
    this.inform(result.removed ? `logged out of ${target.name}: removed from ${result.helper ?? result.file}` : `not logged in to ${target.name} in ${result.file}`)
    for (const where of result.elsewhere) this.inform(`${where} still holds credentials for ${target.name}`)
    return result
  }
}
