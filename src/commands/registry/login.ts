import {Args, Flags} from '@oclif/core'

import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {registryFlags} from '../../cli/flags.js'
import {authFileFlag, hostArg, loginPassword} from '../../cli/login-flags.js'
import {createReporter} from '../../cli/progress.js'
import {type LoginResult, parseLoginTarget, registryLogin} from '../../workflows/registry-login.js'

export default class RegistryLogin extends WorkflowCommand<LoginResult> {
  static summary = 'Check credentials against a registry and save them for later commands.'
  static description = describeCommand(
    'The credentials are checked first (GET /v2/ with basic auth or the token flow); a registry that refuses them is one error line and nothing is written.',
    'They are saved in docker\'s config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json) — or --auth-file / $REGISTRY_AUTH_FILE — atomically, mode 0600, every other entry of the file kept. When the file names a credential helper for the registry (credHelpers, credsStore), they go to that helper instead, as docker does.',
    'Every command that talks to a registry reads them back from there, and from podman\'s and skopeo\'s auth.json files.',
  )
  static usage = 'registry login [HOST] -u USER --password-stdin'
  static examples = [
    'echo "$TOKEN" | <%= config.bin %> registry login registry.example.com -u ci --password-stdin',
    '<%= config.bin %> registry login localhost:5000 -u admin --password-stdin < password.txt',
    'echo "$PASSWORD" | <%= config.bin %> registry login quay.io/team -u robot --password-stdin --auth-file auth.json',
  ]
  static args = {
    host: Args.string({
      description: 'The registry, host[:port], or a namespace on it (host/namespace) for credentials of that namespace only. Default: $CI_REGISTRY in GitLab CI.',
    }),
  }
  static flags = {
    username: Flags.string({char: 'u', description: 'User name.', required: true}),
    'password-stdin': Flags.boolean({description: 'Read the password (or token) from stdin; a trailing newline is dropped.', exclusive: ['password']}),
    password: Flags.string({char: 'p', description: 'Password (shows in the process list: prefer --password-stdin).'}),
    'insecure-registry': registryFlags['insecure-registry'],
    ...authFileFlag,
  }

  async run(): Promise<LoginResult> {
    const {args, flags} = await this.parse(RegistryLogin)
    const reporter = createReporter(this.verbosity)
    const target = parseLoginTarget(hostArg(args.host))
    const password = await loginPassword(flags, (line) => reporter.warn(line))
    const credentials = {username: flags.username, password, registry: target.registry, from: 'flags' as const}
    const ctx = this.context(flags, target.registry, {reporter, credentials})
    const result = await registryLogin(ctx, target, {username: flags.username, password, ...(flags['auth-file'] ? {authFile: flags['auth-file']} : {})})
    if (!result.checked) reporter.warn(`${target.registry} asks for no credentials: saved them unchecked`)
    this.inform(`logged in to ${target.name} as ${result.username}: ${result.helper ? `stored by ${result.helper} (named in ${result.file})` : `saved in ${result.file}`}`)
    return result
  }
}
