import {ConfigError} from './errors.js'
import {configPartials, projectFiles} from './project-files.js'
import {render} from './template/index.js'
import {GoError} from './template/values.js'
import type {ConfigFlavour} from './types.js'

export interface RenderConfigOptions {
  /** How errors name the config file. */
  label: string
  /** The directory the config file is in: partials, `.Files` and nothing outside it. */
  projectDir: string
  flavour: ConfigFlavour
  env: NodeJS.ProcessEnv
}

/** Where each flavour keeps its partials (`{{ include "NAME" . }}` by their path below it). */
const PARTIALS_DIR: Record<ConfigFlavour, string> = {dapp: '.dappfiles', werf: '.werf'}

/**
 * The config text after Go templates, as dapp and werf render it before reading the YAML: partials, `.Files`,
 * and (werf 1.2) `.Env`. A template problem is one line naming the file and line (Go's own words).
 */
export function renderConfig(text: string, opts: RenderConfigOptions): string {
  let partials: Map<string, string>
  try {
    partials = configPartials(opts.projectDir, PARTIALS_DIR[opts.flavour])
  } catch (e) {
    if (e instanceof GoError) throw new ConfigError(opts.label, 1, 1, e.message)
    throw e
  }
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v
  return render(text, {name: opts.label, partials, env, data: {Env: env}, files: projectFiles(opts.projectDir)})
}
