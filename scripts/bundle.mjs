// Bundles the compiled CLI (dist/) and its dependencies into one CommonJS file, dist/slipway.cjs, so a
// command starts by compiling one script (which bin/run.js caches with V8's code cache) instead of
// resolving and compiling hundreds of modules. oclif finds the commands through its explicit strategy:
// the bundle exports COMMANDS, one getter per file under dist/commands, so a command initialises only the
// modules it imports (oclif reads the list of commands from .oclif.manifest.json and loads the one it runs).
//
//   node scripts/bundle.mjs [DIST]      DIST defaults to the project's dist/, where tsc put the compiled CLI
//   BUNDLE_ANALYZE=1 node scripts/bundle.mjs   also prints what takes the space
import {readdirSync} from 'node:fs'
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

const files = commandFiles(commandsDir).sort()
const entry = [
  'export const COMMANDS = {',
  ...files.map(f => `  get ${JSON.stringify(relative(commandsDir, f).replace(/\.js$/, '').split('/').join(':'))}() { return require('./${relative(dist, f)}').default },`),
  '}',
  "export {execute} from '@oclif/core'",
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
  // oclif loads TypeScript only to run uncompiled plugins in development
  external: ['typescript'],
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
