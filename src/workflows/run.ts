import {join} from 'node:path'

import {type Isolation, runStage, shellQuote, StageCommandError} from '../sandbox/index.js'
import {SlipwayError} from '../errors.js'
import {localStageName} from '../naming/index.js'
import type {WorkflowContext} from './context.js'
import {listedName, planWithCaches} from '../project/index.js'
import {makeScratchDir} from '../roots/scratch.js'
import {extractImage} from '../builder/index.js'
import {loadStoreImage} from '../image/index.js'

export interface RunRequest {
  dir: string
  /** The dimg to run; may be omitted when the project has one. */
  dimg?: string
  dev?: boolean
  /** Replaces the image's CMD (the ENTRYPOINT stays), as `docker run IMAGE ARGS…` does. */
  args: string[]
  isolation?: Isolation
}

/**
 * `dimg run`: the dimg's image from the local stages cache, unpacked into a throwaway root and run in the
 * build sandbox with its entrypoint, command, env, user and working directory. Resolves to the exit code.
 */
export async function runDimg(ctx: WorkflowContext, req: RunRequest): Promise<number> {
  const {plan} = await planWithCaches(ctx, {dir: req.dir, dimgs: req.dimg ? [req.dimg] : undefined, dev: req.dev})
  const candidates = plan.dimgs.filter(d => !d.isArtifact && d.selected && (req.dimg === undefined || d.name === req.dimg))
  if (candidates.length !== 1) {
    throw new SlipwayError('usage', `the project has ${candidates.length} dimgs (${candidates.map(d => listedName(plan, d)).join(', ')}): name the one to run`, {
      hint: 'slipway dimg run DIMG [-- COMMAND ...]',
    })
  }
  const dimg = candidates[0]
  const store = await ctx.store()
  const desc = await store.resolveRef(localStageName(plan.project.name, dimg.lastSignature, plan.project.dev))
  if (!desc) throw new SlipwayError('not-found', `${listedName(plan, dimg)} is not built`, {hint: 'run `slipway dimg build` first'})
  const image = await loadStoreImage(store, desc.digest)
  const config = image.config.config ?? {}
  const argv = [...(config.Entrypoint ?? []), ...(req.args.length > 0 ? req.args : (config.Cmd ?? []))]
  if (argv.length === 0) throw new SlipwayError('usage', `${listedName(plan, dimg)} has neither ENTRYPOINT nor CMD`, {hint: 'give a command: slipway dimg run DIMG -- COMMAND'})
  const scratch = await makeScratchDir(ctx.home, 'run', ctx.env)
  try {
    const root = join(scratch.path, 'root')
    await extractImage(store, image, root, ctx.signal)
    await runStage({
      root,
      commands: [`exec ${argv.map(shellQuote).join(' ')}`],
      env: config.Env,
      user: config.User,
      workingDir: config.WorkingDir,
      isolation: req.isolation,
      interactive: true,
      hostname: listedName(plan, dimg),
    })
    return 0
  } catch (e) {
    if (e instanceof StageCommandError) return e.commandExitCode
    throw e
  } finally {
    await scratch.remove()
  }
}
