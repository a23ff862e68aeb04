import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {WorkflowCommand} from '../../cli/workflow-command.js'
import {describeCommand} from '../../cli/help-text.js'
import {buildFlags, projectFlags} from '../../cli/flags.js'
import {runDimg} from '../../workflows/run.js'

export default class DimgRun extends WorkflowCommand<void> {
  static summary = "Run a dimg's image from the local stages cache in the sandbox."
  static description = describeCommand(
    "The image is unpacked into a throwaway root; arguments after -- replace its CMD. Exits with the command's exit code (the codes below are slipway's own failures).",
  )
  static usage = 'dimg run [DIMG] [-- COMMAND ...]'
  static examples = ['<%= config.bin %> dimg run worker', '<%= config.bin %> dimg run web -- cat /var/www/index.html']
  static strict = false
  static args = {
    dimg: Args.string({description: 'A dimg name from the dappfile; may be left out when the project has one dimg.'}),
    command: Args.string({description: "After --: the command and its arguments, run instead of the image's CMD."}),
  }
  static flags = {...projectFlags, isolation: buildFlags.isolation}
  // what the image's command writes is the output: no --json
  static enableJsonFlag = false
  static baseFlags = BaseCommand.baseFlags

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(DimgRun)
    const rawArgs = this.argv
    const dash = rawArgs.indexOf('--')
    const command = dash === -1 ? [] : rawArgs.slice(dash + 1)
    const positional = (argv as string[]).slice(0, (argv as string[]).length - command.length)
    const code = await runDimg(this.context(flags), {
      dir: flags.dir,
      dev: flags.dev,
      dimg: positional[0],
      args: command,
      isolation: flags.isolation as 'namespaces' | 'chroot',
    })
    process.exitCode = code
  }
}
