// Bundles the compiled CLI (dist/) and its dependencies into one ESM file, dist/slipway.js, so a command
// starts by loading one file instead of resolving and compiling hundreds of modules (see README, Benchmarks).
// oclif finds the commands through the explicit strategy: dist/slipway.js exports COMMANDS.
import {readdirSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {build} from 'esbuild'

// node scripts/bundle.mjs [DIST]   (DIST defaults to the project's dist/, where tsc put the compiled CLI)
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
  ...files.map((f, i) => `import C${i} from './${relative(dist, f)}'`),
  'export const COMMANDS = {',
  ...files.map((f, i) => `  ${JSON.stringify(relative(commandsDir, f).replace(/\.js$/, '').split('/').join(':'))}: C${i},`),
  '}',
  "export {execute} from '@oclif/core'",
].join('\n')

const result = await build({
  stdin: {contents: entry, resolveDir: dist, sourcefile: 'slipway-entry.js', loader: 'js'},
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: join(dist, 'slipway.js'),
  sourcemap: 'linked',
  legalComments: 'none',
  // oclif loads TypeScript only to run uncompiled plugins in development
  external: ['typescript'],
  logLevel: "warning",
  metafile: true,
  // CommonJS dependencies (oclif's) call require() for Node built-ins and use __dirname
  banner: {
    js: [
      "import {createRequire as __slipwayCreateRequire} from 'node:module'",
      "import {fileURLToPath as __slipwayFileURLToPath} from 'node:url'",
      "import {dirname as __slipwayDirname} from 'node:path'",
      'const require = __slipwayCreateRequire(import.meta.url)',
      'const __filename = __slipwayFileURLToPath(import.meta.url)',
      'const __dirname = __slipwayDirname(__filename)',
    ].join('\n'),
  },
})
if (process.env.BUNDLE_ANALYZE) { const {analyzeMetafile} = await import('esbuild'); console.log(await analyzeMetafile(result.metafile)) }
