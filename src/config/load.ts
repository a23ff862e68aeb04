import {access, readFile} from 'node:fs/promises'
import {basename, dirname, isAbsolute, join, relative, resolve} from 'node:path'

import {LineCounter, isMap, isScalar, parseAllDocuments, visit, type Document} from 'yaml'
import type * as z from 'zod'

import {SlipwayError} from '../errors.js'
import {ConfigError} from './errors.js'
import {isMetaDocument, metaSchema} from './meta.js'
import {positionOf} from './positions.js'
import {renderConfig} from './render.js'
import {documentSchema, FROM_DIMG_KEYS, type DocumentOutput} from './schema.js'
import type {ConfigFlavour, DappConfig, DimgConfig} from './types.js'
import {unsupportedKey, withoutNulls} from './unsupported.js'

/** Config file names, in the order they are looked for. */
export const CONFIG_FILE_NAMES = ['dappfile.yaml', 'dappfile.yml', 'werf.yaml'] as const

/** The config file of the project in `dir`, or a config error saying which names were looked for. */
export async function findDappfile(dir: string): Promise<string> {
  for (const name of CONFIG_FILE_NAMES) {
    const file = join(dir, name)
    try {
      await access(file)
      return file
    } catch {
      // try the next name
    }
  }
  throw new SlipwayError('config', `no ${CONFIG_FILE_NAMES.join(', ')} in ${dir}`, {
    hint: 'run in the project directory or pass --dir DIR',
  })
}

/** dappfile.yaml/yml are dapp's, werf.yaml is werf's. */
export function flavourOf(file: string): ConfigFlavour {
  return basename(file) === 'werf.yaml' ? 'werf' : 'dapp'
}

/**
 * Finds, reads, renders (Go templates, as dapp and werf do) and validates the project's config. Problems in
 * the YAML after rendering are reported against the rendered text, labelled `FILE (rendered)`, when the
 * templates changed the text.
 */
export async function loadDappfile(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<DappConfig> {
  const file = await findDappfile(resolve(dir))
  const text = await readFile(file, 'utf8')
  const label = displayName(file)
  const rendered = renderConfig(text, {label, projectDir: dirname(file), flavour: flavourOf(file), env})
  return parseDappfile(rendered, rendered === text ? label : `${label} (rendered)`, file)
}

/** How errors name the file: relative to the working directory when it is below it. */
export function displayName(file: string): string {
  const rel = relative(process.cwd(), file)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}

interface ParsedDocument {
  doc: Document
  raw: Record<string, unknown>
  config: DocumentOutput
  dimg: DimgConfig
  label: string
}

/** YAML as dapp's and werf's parsers read it: `<<:` merge keys, aliases up to a bound. */
const YAML_OPTIONS = {prettyErrors: false, uniqueKeys: true, merge: true} as const

/**
 * Parses the text of a dappfile into the typed config. `fileLabel` is how errors name the file. Throws a
 * ConfigError for the first problem in source order.
 */
export function parseDappfile(text: string, fileLabel: string, file = fileLabel): DappConfig {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, {lineCounter, ...YAML_OPTIONS})
  const fail = (offset: number, what: string): never => {
    const {line, col} = lineCounter.linePos(offset)
    throw new ConfigError(fileLabel, line, col, what)
  }
  if (!Array.isArray(docs)) fail(0, 'the file holds no dimg: it needs at least a "from:" line')
  const parsed: ParsedDocument[] = []
  let project: {name: string; doc: Document} | undefined
  for (const doc of docs as Document[]) {
    const syntax = doc.errors[0]
    if (syntax) fail(syntax.pos[0], `YAML syntax error: ${syntax.message.split('\n')[0]}`)
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue // an empty document
    if (!isMap(doc.contents)) fail(doc.contents.range?.[0] ?? 0, 'a document must be a map of keys such as dimg, from, git, shell')
    let raw: Record<string, unknown>
    try {
      raw = doc.toJS({maxAliasCount: 100}) as Record<string, unknown>
    } catch (e) {
      fail(unresolvedAliasOffset(doc) ?? doc.contents!.range?.[0] ?? 0, `YAML error: ${(e as Error).message.split('\n')[0]}`)
    }
    if (isMetaDocument(raw!)) {
      if (project) fail(doc.contents!.range?.[0] ?? 0, `a second meta document: the first is at line ${lineCounter.linePos(project.doc.contents!.range?.[0] ?? 0).line}`)
      const meta = metaSchema.safeParse(withoutNulls(raw!))
      if (!meta.success) {
        const problem = firstProblem(doc, lineCounter, raw!, meta.error.issues)
        throw new ConfigError(fileLabel, problem.line, problem.column, `meta${problem.where}: ${problem.message}`)
      }
      if (meta.data.configVersion === undefined && flavourOf(file) === 'werf') fail(doc.contents!.range?.[0] ?? 0, 'meta: werf requires "configVersion: 1" in the meta document')
      project = {name: meta.data.project, doc}
      continue
    }
    const label = documentLabel(raw!)
    const unsupported = unsupportedKey(raw!)
    if (unsupported) {
      const pos = positionOf(doc, lineCounter, [], unsupported.key)
      throw new ConfigError(fileLabel, pos.line, pos.column, `${label} › ${unsupported.key}: ${unsupported.message}`)
    }
    const result = documentSchema.safeParse(withoutNulls(raw!))
    if (!result.success) {
      const problem = firstProblem(doc, lineCounter, raw!, result.error.issues)
      throw new ConfigError(fileLabel, problem.line, problem.column, `${label}${problem.where}: ${problem.message}`)
    }
    for (const dimg of toDimgs(result.data)) parsed.push({doc, raw: raw!, config: result.data, dimg, label: dimgLabel(raw!, dimg)})
  }
  checkProject(parsed, lineCounter, fileLabel)
  return {file, flavour: flavourOf(file), ...(project ? {project: project.name} : {}), dimgs: parsed.map((p) => p.dimg)}
}

/** Where the first alias without an anchor is, if any. */
function unresolvedAliasOffset(doc: Document): number | undefined {
  let offset: number | undefined
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) === undefined) {
        offset = node.range?.[0]
        return visit.BREAK
      }
      return undefined
    },
  })
  return offset
}

/** How errors name a document: by the key it names itself with (`dimg`, werf's `image`, `artifact`). */
function documentLabel(raw: Record<string, unknown>): string {
  if (typeof raw.artifact === 'string') return `artifact "${raw.artifact}"`
  const key = raw.image !== undefined && raw.dimg === undefined ? 'image' : 'dimg'
  const name = raw.dimg ?? raw.image
  if (Array.isArray(name)) return `${key} ${name.map((n) => JSON.stringify(String(n))).join(', ')}`
  return typeof name === 'string' || typeof name === 'number' ? `${key} "${name}"` : key
}

function dimgLabel(raw: Record<string, unknown>, dimg: DimgConfig): string {
  if (dimg.isArtifact) return `artifact "${dimg.name}"`
  const key = raw.image !== undefined && raw.dimg === undefined ? 'image' : 'dimg'
  return dimg.name === null ? key : `${key} "${dimg.name}"`
}

/** One DimgConfig per name (`dimg: [a, b]` is two dimgs alike). */
function toDimgs(d: DocumentOutput): DimgConfig[] {
  const names = d.artifact !== undefined ? [d.artifact] : (d.dimg ?? d.image ?? [null])
  return names.map((name) => toDimg(d, name))
}

function toDimg(d: DocumentOutput, name: string | null): DimgConfig {
  const base = (Object.keys(FROM_DIMG_KEYS) as (keyof typeof FROM_DIMG_KEYS)[]).find((k) => d[k] !== undefined)
  return {
    name,
    isArtifact: d.artifact !== undefined,
    from: d.from ?? '',
    ...(base === undefined ? {} : {fromDimg: {name: d[base]!, isArtifact: FROM_DIMG_KEYS[base]}}),
    ...(d.fromCacheVersion === undefined ? {} : {fromCacheVersion: d.fromCacheVersion}),
    fromLatest: d.fromLatest ?? false,
    git: d.git ?? [],
    shell: d.shell ?? {commands: {beforeInstall: [], install: [], beforeSetup: [], setup: []}, stageCacheVersion: {}},
    imports: d.import ?? [],
    docker: d.docker ?? {},
    mounts: d.mount ?? [],
  }
}

/** `shell › install`, `git[0] › to`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`
    else out += out === '' ? String(step) : ` › ${String(step)}`
  }
  return out
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PropertyKey, unknown>)[step as string]
  }
  return v
}

function describeValue(v: unknown): string {
  if (v === null) return 'an empty value'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a map'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`
  return `${typeof v === 'number' ? 'the number' : 'the value'} ${String(v)}`
}

const EXPECTED_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
  record: 'a map',
}

interface Problem {
  line: number
  column: number
  offset: number
  where: string
  message: string
}

function firstProblem(doc: Document, lineCounter: LineCounter, raw: unknown, issues: readonly z.core.$ZodIssue[]): Problem {
  const problems = issues.map((iss): Problem => {
    const path = iss.path as PropertyKey[]
    if (iss.code === 'unrecognized_keys') {
      const key = iss.keys[0]
      const pos = positionOf(doc, lineCounter, path, key)
      return {...pos, where: ` › ${formatKeyPath([...path, key])}`, message: iss.message}
    }
    const pos = positionOf(doc, lineCounter, path)
    const where = path.length === 0 ? '' : ` › ${formatKeyPath(path)}`
    const value = valueAt(raw, path)
    if (value === undefined && path.length > 0) {
      const key = String(path[path.length - 1])
      if (key === 'from' && path.length === 1) return {...pos, where: '', message: 'missing "from": every dimg and artifact needs a base image'}
      return {...pos, where, message: `missing required key "${key}"`}
    }
    if (iss.code === 'invalid_type' && iss.message.startsWith('Invalid input')) {
      return {...pos, where, message: `expected ${EXPECTED_NAMES[iss.expected] ?? iss.expected}, got ${describeValue(value)}`}
    }
    const saysExpected = iss.code === 'invalid_union' || iss.code === 'invalid_type' || (iss.code === 'custom' && /^expected (a|an) [\w ]+$/.test(iss.message))
    const got = saysExpected && !iss.message.includes(', got ') ? `, got ${describeValue(value)}` : ''
    return {...pos, where, message: `${iss.message}${got}`}
  })
  problems.sort((a, b) => a.offset - b.offset)
  return problems[0]
}

/** Problems that span documents: names, artifacts and their imports. */
function checkProject(parsed: ParsedDocument[], lineCounter: LineCounter, fileLabel: string): void {
  const fail = (p: ParsedDocument, path: PropertyKey[], what: string): never => {
    const pos = positionOf(p.doc, lineCounter, path)
    const where = path.length === 0 ? '' : ` › ${formatKeyPath(path)}`
    throw new ConfigError(fileLabel, pos.line, pos.column, `${p.label}${where}: ${what}`)
  }
  const nameKey = (p: ParsedDocument): string => (p.raw.artifact !== undefined ? 'artifact' : p.raw.image !== undefined ? 'image' : 'dimg')

  const dimgs = parsed.filter((p) => !p.dimg.isArtifact)
  if (dimgs.length === 0) {
    if (parsed.length === 0) throw new ConfigError(fileLabel, 1, 1, 'the file holds no dimg: it needs at least a "from:" line')
    fail(parsed[0], [], 'the config has only artifacts: add a dimg document that imports from them')
  }
  const unnamed = dimgs.filter((p) => p.dimg.name === null)
  if (unnamed.length > 0 && dimgs.length > 1) {
    const culprit = unnamed.length > 1 ? unnamed[1] : unnamed[0]
    fail(culprit, [], 'a config holds one unnamed dimg or several named ones: give every dimg a name with "dimg: NAME"')
  }
  const byName = new Map<string, ParsedDocument>()
  for (const p of parsed) {
    if (p.dimg.name === null) continue
    const first = byName.get(p.dimg.name)
    if (first) {
      const {line} = positionOf(first.doc, lineCounter, [])
      fail(p, [nameKey(p)], `the name "${p.dimg.name}" is already used by the ${first.dimg.isArtifact ? 'artifact' : 'dimg'} at line ${line}`)
    }
    byName.set(p.dimg.name, p)
  }
  for (const p of parsed) {
    for (const edge of edgesOf(p)) {
      const target = byName.get(edge.name)
      if (target && target.dimg.isArtifact === edge.isArtifact) continue
      const kind = edge.isArtifact ? 'artifact' : 'dimg'
      const known = parsed.filter((q) => q.dimg.isArtifact === edge.isArtifact && q.dimg.name !== null).map((q) => q.dimg.name)
      const knownText = known.length === 0 ? `the config defines no ${kind}` : `known ${kind}s: ${known.join(', ')}`
      const problem = target ? `"${edge.name}" is ${edge.isArtifact ? 'a dimg, not an artifact' : 'an artifact, not a dimg'}` : `unknown ${kind} "${edge.name}"`
      fail(p, edge.path, `${problem} (${knownText})`)
    }
  }
  // Cycles of imports and bases (fromDimg…): depth-first search, reported at the edge that closes the cycle.
  // An explicit stack rather than recursion, so that a chain of thousands of artifacts does not overflow.
  const state = new Map<string, 'visiting' | 'done'>()
  for (const first of parsed) {
    if (first.dimg.name === null || state.has(first.dimg.name)) continue
    const stack: {p: ParsedDocument; edges: Edge[]; next: number}[] = [{p: first, edges: edgesOf(first), next: 0}]
    state.set(first.dimg.name, 'visiting')
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      if (top.next === top.edges.length) {
        state.set(top.p.dimg.name as string, 'done')
        stack.pop()
        continue
      }
      const edge = top.edges[top.next++]
      const s = state.get(edge.name)
      if (s === 'visiting') {
        const chain = stack.map((f) => f.p.dimg.name as string)
        const what = top.edges.some((e) => e.path[0] !== 'import') || stack.some((f) => f.edges.some((e) => e.path[0] !== 'import')) ? 'cycle of bases and imports' : 'import cycle'
        fail(top.p, edge.path, `${what}: ${[...chain.slice(chain.indexOf(edge.name)), edge.name].join(' → ')}`)
      }
      if (s === undefined) {
        state.set(edge.name, 'visiting')
        const next = byName.get(edge.name)!
        stack.push({p: next, edges: edgesOf(next), next: 0})
      }
    }
  }
}

/** What a document needs of another: the files it imports, the dimg it is built on. */
interface Edge {
  name: string
  isArtifact: boolean
  /** Where the edge is written, for errors. */
  path: PropertyKey[]
}

function edgesOf(p: ParsedDocument): Edge[] {
  const edges: Edge[] = p.dimg.imports.map((imp, i) => ({name: imp.artifact, isArtifact: !imp.fromImage, path: ['import', i, imp.fromImage ? 'image' : 'artifact']}))
  const base = p.dimg.fromDimg
  if (base) {
    const key = (Object.keys(FROM_DIMG_KEYS) as (keyof typeof FROM_DIMG_KEYS)[]).find((k) => p.config[k] !== undefined)!
    edges.push({name: base.name, isArtifact: base.isArtifact, path: [key]})
  }
  return edges
}
