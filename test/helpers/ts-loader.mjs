// Importing this module lets a plain node child process (test children, the stress script) import the
// TypeScript sources directly: a module hook maps `./x.js` imports of .ts files to `./x.ts` and transpiles
// them with the project's TypeScript. Import it first, then `await import()` the .ts modules.
import {createRequire, register} from 'node:module'
import {pathToFileURL} from 'node:url'

const require = createRequire(import.meta.url)
const hooks = `
let ts
export async function initialize(data) { ts = (await import(data.typescript)).default }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (e) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      return next(specifier.slice(0, -3) + '.ts', context)
    }
    throw e
  }
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context)
  const {readFile} = await import('node:fs/promises')
  const source = await readFile(new URL(url), 'utf8')
  const out = ts.transpileModule(source, {
    fileName: url,
    compilerOptions: {module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true},
  })
  return {format: 'module', source: out.outputText, shortCircuit: true}
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`, {
  data: {typescript: pathToFileURL(require.resolve('typescript')).href},
})
