/**
 * Renders a dappfile/werf.yaml as dapp and werf do before parsing its YAML: Go's text/template with sprig's
 * functions and werf's additions (env with a default, required, include, tpl, fromYaml; toYaml as helm
 * has it), partials (.dappfiles/**\/*.tmpl, .werf/**\/*.tmpl) parsed first, `.Files.Get`/`.Files.Glob`.
 */
import {parse as parseYaml, stringify as stringifyYaml} from 'yaml'

import {BUILTINS} from './builtins.js'
import {TemplateError} from './error.js'
import {Executor, type FuncMap, type GoFunction} from './exec.js'
import {parseTemplate, type TreeSet} from './parser.js'
import {SPRIG, fromJsonValue, strval} from './sprig.js'
import {GoError, interfaceKeyedMaps, isMap, type GoMap, type Value} from './values.js'

export {TemplateError}
export type {Value}

export interface TemplateFiles {
  /** `.Files.Get PATH`: the file's text ('' when it does not exist, as dapp and werf give). */
  get(path: string): string
  /** `.Files.Glob PATTERN`: matching paths and their texts. */
  glob(pattern: string): Record<string, string>
}

export interface RenderOptions {
  /** The config file's name, as errors name it ("template: werf.yaml:12: …"). */
  name: string
  /** The dot: werf 1.2 passes `{Env}`; `Files` is added when `files` is given. */
  data?: GoMap
  /** Partials by name (their path under .dappfiles/ or .werf/), parsed before the config. */
  partials?: ReadonlyMap<string, string>
  /** The environment `env` and `expandenv` read. */
  env?: Readonly<Record<string, string | undefined>>
  files?: TemplateFiles
}

function werfFunctions(trees: TreeSet, funcs: () => FuncMap, names: ReadonlySet<string>, env: RenderOptions['env']): [string, GoFunction][] {
  const lookup = (name: string): string | undefined => env?.[name]
  const execute = (name: string, data: Value): string => {
    const tree = trees.get(name)
    if (tree === undefined) throw new GoError(`template: no template ${JSON.stringify(name)} associated with template ${JSON.stringify([...trees.keys()][0] ?? '')}`)
    return new Executor(tree, trees, funcs()).execute(data)
  }
  return [
    ['env', {params: ['any'], variadic: 'string', call: (name, ...dflt) => {
      if (dflt.length > 1) throw new GoError('more than 1 optional argument prohibited')
      const value = lookup(strval(name))
      if (value === undefined || (value === '' && dflt.length === 1)) return dflt.length === 1 ? dflt[0] : ''
      return value
    }}],
    ['expandenv', {params: ['string'], call: (s) => (s as string).replace(/\$(\{([^}]*)\}|[A-Za-z0-9_]+)/g, (_, raw: string, braced?: string) => lookup(braced ?? raw) ?? '')}],
    ['required', {params: ['string', 'any'], call: (msg, val) => {
      if (val === null || val === undefined || val === '') throw new GoError(msg as string)
      return val
    }}],
    ['include', {params: ['string', 'any'], call: (name, data) => execute(name as string, data)}],
    ['tpl', {params: ['string', 'any'], call: (text, data) => {
      parseTemplate('tpl', text as string, names, trees)
      return execute('tpl', data)
    }}],
    ['fromYaml', {params: ['string'], call: (s) => {
      let doc: unknown
      try {
        doc = parseYaml(s as string, {version: '1.1'})
      } catch (e) {
        throw new GoError(`yaml: ${(e as Error).message.split('\n')[0]}`)
      }
      if (doc === null || doc === undefined) return {}
      if (typeof doc !== 'object' || Array.isArray(doc)) throw new GoError(`yaml: unmarshal errors: cannot unmarshal into map[string]interface {}`)
      const result = fromJsonValue(doc) as GoMap
      markNested(result)
      return result
    }}],
    ['toYaml', {params: ['any'], call: (v) => toYaml(v)}],
  ]
}

function markNested(v: Value, nested = false): void {
  if (Array.isArray(v)) v.forEach((e) => markNested(e, true))
  else if (isMap(v)) {
    if (nested) interfaceKeyedMaps.add(v)
    Object.values(v).forEach((e) => markNested(e, true))
  }
}

/** helm's toYaml: sorted keys, sequences not indented under their key, no trailing newline. */
function toYaml(v: Value): string {
  const plain = JSON.parse(JSON.stringify(v ?? null, (_, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)))
  return stringifyYaml(plain, {sortMapEntries: true, indentSeq: false, lineWidth: 0}).replace(/\n$/, '')
}

/** The rendered text of `text`; a parse or execution error is a TemplateError with Go's one line. */
export function render(text: string, options: RenderOptions): string {
  const trees: TreeSet = new Map()
  const funcs = new Map<string, GoFunction>([...BUILTINS, ...SPRIG])
  const names = new Set<string>([...funcs.keys(), 'env', 'expandenv', 'required', 'include', 'tpl', 'fromYaml', 'toYaml'])
  for (const [name, fn] of werfFunctions(trees, () => funcs, names, options.env)) funcs.set(name, fn)
  for (const [name, partial] of options.partials ?? []) parseTemplate(name, partial, names, trees)
  parseTemplate(options.name, text, names, trees)
  const data: GoMap = {...(options.data ?? {})}
  if (options.files) {
    const files = options.files
    data.Files = {
      Get: (path: Value) => files.get(strval(path)),
      Glob: (pattern: Value) => files.glob(strval(pattern)),
    }
  }
  return new Executor(trees.get(options.name)!, trees, funcs).execute(data)
}
