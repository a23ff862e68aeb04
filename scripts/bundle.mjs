// Bundles the compiled CLI (dist/) and its dependencies into one CommonJS file, dist/slipway.cjs, so a
// command starts by compiling one script (which bin/run.js caches with V8's code cache) instead of
// resolving and compiling hundreds of modules. oclif finds the commands through its explicit strategy:
// the bundle exports COMMANDS, one getter per file under dist/commands, so a command initialises only the
// modules it imports (oclif reads the list of commands from .oclif.manifest.json and loads the one it runs).
//
//   node scripts/bundle.mjs [DIST]      DIST defaults to the project's dist/, where tsc put the compiled CLI
//   BUNDLE_ANALYZE=1 node scripts/bundle.mjs   also prints what takes the space
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {analyzeMetafile, build} from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = resolve(process.argv[2] ?? join(root, 'dist'))
const commandsDir = join(dist, 'commands')

function commandFiles(dir) {
  return readdirSync(dir, {withFileTypes: true}).flatMap(e => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return commandFiles(path)
    return e.isFile() && e.name.endsWith('.js') ? [path] : []
  })
}

/** A command file's oclif id: its path under the commands directory, `:`-separated, `index` naming its topic. */
function commandId(dir, file) {
  return relative(dir, file).replace(/\.js$/, '').replace(/(^|\/)index$/, '').split('/').join(':')
}

// The oclif plugins whose commands slipway has (`help`, `autocomplete`) are bundled as slipway's own commands
// rather than loaded as plugins: each plugin loaded at start-up costs every command, --version too, about
// 12 ms. Their code is the plugins' unchanged; @oclif/plugin-not-found's hook is called by src/cli/command-not-found.ts.
const BUNDLED_PLUGINS = ['@oclif/plugin-help', '@oclif/plugin-autocomplete']

function pluginCommands(name) {
  const pkg = join(root, 'node_modules', name)
  const dir = join(pkg, JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).oclif.commands)
  return commandFiles(dir).map(f => [commandId(dir, f), f])
}

const commands = [
  ...commandFiles(commandsDir).map(f => [commandId(commandsDir, f), `./${relative(dist, f)}`]),
  ...BUNDLED_PLUGINS.flatMap(pluginCommands),
].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
const entry = [
  'export const COMMANDS = {',
  ...commands.map(([id, file]) => `  get ${JSON.stringify(id)}() { return require(${JSON.stringify(file)}).default },`),
  '}',
  "export function COMMAND_NOT_FOUND(opts) { return require('./cli/command-not-found.js').commandNotFound.call(this, opts) }",
  "export {main} from './cli/main.js'",
].join('\n')

const result = await build({
  stdin: {contents: entry, resolveDir: dist, sourcefile: 'slipway-entry.js', loader: 'js'},
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: join(dist, 'slipway.cjs'),
  sourcemap: 'linked',
  legalComments: 'none',
  // oclif loads TypeScript only to run uncompiled plugins in development. @oclif/plugin-not-found's prompt
  // library (1 MB with its encodings) is required from node_modules (its CommonJS build) only when a mistyped
  // command is run on a terminal; an import() would not do: V8 loses its callback in code-cached scripts
  external: ['typescript', '@inquirer/prompts'],
  plugins: [
    {
      name: 'undici-slim',
      setup(b) {
        b.onResolve({filter: /^undici$/}, () => ({path: join(root, 'scripts', 'bundle', 'undici-slim.cjs')}))
      },
    },
  ],
  logLevel: 'warning',
  metafile: true,
})
if (process.env.BUNDLE_ANALYZE) console.log(await analyzeMetafile(result.metafile))
