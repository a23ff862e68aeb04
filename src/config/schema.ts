import picomatch from 'picomatch'
import * as z from 'zod'

import {closestKey} from './suggest.js'
import type {DockerInstructions, GitMapping, HealthcheckConfig, ImportPosition, ImportSpec, MountSpec, ShellConfig} from './types.js'

/**
 * The zod schema of one dappfile document. Objects are strict: an unknown key is an error whose message
 * names the closest valid key. Transforms normalise shorthands (a string where a list is allowed, numbers
 * where strings are meant) so that the typed config has one shape.
 */

function strict<T extends z.ZodRawShape>(shape: T) {
  const keys = Object.keys(shape)
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== 'unrecognized_keys') return undefined
      const key = iss.keys[0]
      const best = closestKey(key, keys)
      return best === undefined ? `unknown key — valid keys are: ${keys.join(', ')}` : `unknown key — did you mean "${best}"?`
    },
  })
}

/** A string, or a number/boolean written where a string is meant (`cacheVersion: 2`). */
const text = z.union([z.string(), z.number(), z.boolean()], {error: 'expected a string'}).transform(String)
const nonEmptyText = text.refine((s) => s.trim() !== '', {error: 'must not be empty'})

/** A string or a list of strings, as a list; `check` may reject single entries. */
function listOfStrings(what: string, check?: (s: string) => string | undefined) {
  return z.unknown().transform((v, ctx): string[] => {
    const list = typeof v === 'string' ? [v] : v
    if (!Array.isArray(list)) {
      ctx.addIssue({code: 'custom', message: `expected ${what} or a list of them`})
      return z.NEVER
    }
    list.forEach((item, i) => {
      const path = typeof v === 'string' ? [] : [i]
      if (typeof item !== 'string') ctx.addIssue({code: 'custom', message: `expected ${what}`, path})
      else {
        const problem = check?.(item)
        if (problem) ctx.addIssue({code: 'custom', message: problem, path})
      }
    })
    return list as string[]
  })
}

const stringList = listOfStrings('a string')

function absolutePathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return `"${p}" is not an absolute path — it must start with "/"`
  if (p.split('/').includes('..')) return `"${p}" must not contain ".." segments`
  return undefined
}

const absolutePath = z.string({error: 'expected an absolute path'}).superRefine((p, ctx) => {
  const problem = absolutePathProblem(p)
  if (problem) ctx.addIssue({code: 'custom', message: problem})
})

/** Why a glob (relative to a mapping's `add`) could never match a file, or undefined if it can. */
export function globProblem(glob: string): string | undefined {
  if (glob.trim() === '') return 'an empty glob matches nothing'
  if (glob.startsWith('/')) return `glob "${glob}" cannot match: globs are relative to "add", drop the leading "/"`
  if (glob.split('/').includes('..')) return `glob "${glob}" cannot match: ".." leaves the mapped directory`
  try {
    picomatch.makeRe(glob, {dot: true, strictBrackets: true})
  } catch (e) {
    return `glob "${glob}" cannot match: ${(e as Error).message}`
  }
  return undefined
}

const globList = listOfStrings('a glob', globProblem)

const ownerLike = z.union([z.string(), z.number().int().nonnegative()], {error: 'expected a user/group name or a numeric id'}).transform(String)

const gitMapping = strict({
  as: nonEmptyText.optional(),
  url: nonEmptyText.optional(),
  branch: nonEmptyText.optional(),
  tag: nonEmptyText.optional(),
  commit: nonEmptyText.optional(),
  herebyIAdmitThatBranchMightBreakReproducibility: z.boolean({error: 'expected true or false'}).optional(),
  add: absolutePath.optional(),
  to: absolutePath,
  includePaths: globList.optional(),
  excludePaths: globList.optional(),
  owner: ownerLike.optional(),
  group: ownerLike.optional(),
  stageDependencies: strict({
    install: globList.optional(),
    beforeSetup: globList.optional(),
    setup: globList.optional(),
    buildArtifact: globList.optional(),
  }).optional(),
})
  .superRefine((g, ctx) => {
    const refs = (['branch', 'tag', 'commit'] as const).filter((k) => g[k] !== undefined)
    if (refs.length > 0 && g.url === undefined) ctx.addIssue({code: 'custom', message: `"${refs[0]}" is only for a remote repository: add "url"`, path: [refs[0]]})
    else if (refs.length > 1) ctx.addIssue({code: 'custom', message: `give one of "branch", "tag" or "commit", not "${refs[0]}" and "${refs[1]}"`, path: [refs[1]]})
  })
  .transform(
  (g): GitMapping => ({
    add: g.add ?? '/',
    to: g.to,
    includePaths: g.includePaths ?? [],
    excludePaths: g.excludePaths ?? [],
    ...(g.owner === undefined ? {} : {owner: g.owner}),
    ...(g.group === undefined ? {} : {group: g.group}),
    stageDependencies: Object.fromEntries(Object.entries(g.stageDependencies ?? {}).filter(([, v]) => v !== undefined)),
    ...(g.as === undefined ? {} : {as: g.as}),
    ...(g.url === undefined
      ? {}
      : {remote: {url: g.url, ...(g.branch === undefined ? {} : {branch: g.branch}), ...(g.tag === undefined ? {} : {tag: g.tag}), ...(g.commit === undefined ? {} : {commit: g.commit})}}),
  }),
)

const shell = strict({
  beforeInstall: stringList.optional(),
  install: stringList.optional(),
  beforeSetup: stringList.optional(),
  setup: stringList.optional(),
  cacheVersion: text.optional(),
  beforeInstallCacheVersion: text.optional(),
  installCacheVersion: text.optional(),
  beforeSetupCacheVersion: text.optional(),
  setupCacheVersion: text.optional(),
  buildArtifact: stringList.optional(),
  buildArtifactCacheVersion: text.optional(),
}).transform(
  (s): ShellConfig => ({
    commands: {beforeInstall: s.beforeInstall ?? [], install: s.install ?? [], beforeSetup: s.beforeSetup ?? [], setup: s.setup ?? []},
    ...(s.cacheVersion === undefined ? {} : {cacheVersion: s.cacheVersion}),
    stageCacheVersion: Object.fromEntries(
      (['beforeInstall', 'install', 'beforeSetup', 'setup'] as const)
        .map((st) => [st, s[`${st}CacheVersion`]] as const)
        .filter(([, v]) => v !== undefined),
    ),
    ...(s.buildArtifact === undefined ? {} : {buildArtifact: s.buildArtifact}),
    ...(s.buildArtifactCacheVersion === undefined ? {} : {buildArtifactCacheVersion: s.buildArtifactCacheVersion}),
  }),
)

const userStage = z.enum(['install', 'setup'], {error: (iss) => `expected "install" or "setup", got ${JSON.stringify(iss.input)}`})

const shellStageName = z.enum(['beforeInstall', 'install', 'beforeSetup', 'setup'], {
  error: (iss) => `expected beforeInstall, install, beforeSetup or setup, got ${JSON.stringify(iss.input)}`,
})

const importSpec = strict({
  artifact: nonEmptyText.optional(),
  image: nonEmptyText.optional(),
  stage: shellStageName.optional(),
  add: absolutePath,
  to: absolutePath.optional(),
  includePaths: globList.optional(),
  excludePaths: globList.optional(),
  owner: ownerLike.optional(),
  group: ownerLike.optional(),
  before: userStage.optional(),
  after: userStage.optional(),
})
  .superRefine((i, ctx) => {
    if (i.artifact !== undefined && i.image !== undefined) {
      ctx.addIssue({code: 'custom', message: 'import from either "artifact" or "image", not both', path: ['image']})
    } else if (i.artifact === undefined && i.image === undefined) {
      ctx.addIssue({code: 'custom', message: 'say where from: add "artifact: NAME" (or werf\'s "image: NAME")', path: []})
    }
    if (i.before !== undefined && i.after !== undefined) {
      ctx.addIssue({code: 'custom', message: 'give either "before" or "after", not both', path: ['after']})
    } else if (i.before === undefined && i.after === undefined) {
      ctx.addIssue({code: 'custom', message: 'say when to import: add "before: install|setup" or "after: install|setup"', path: []})
    }
  })
  .transform((i): ImportSpec => {
    const position: ImportPosition =
      i.before === 'install' ? 'beforeInstall' : i.before === 'setup' ? 'beforeSetup' : i.after === 'install' ? 'afterInstall' : 'afterSetup'
    return {
      artifact: (i.artifact ?? i.image)!,
      ...(i.image === undefined ? {} : {fromImage: true as const}),
      ...(i.stage === undefined ? {} : {stage: i.stage}),
      add: i.add,
      to: i.to ?? i.add,
      includePaths: i.includePaths ?? [],
      excludePaths: i.excludePaths ?? [],
      ...(i.owner === undefined ? {} : {owner: i.owner}),
      ...(i.group === undefined ? {} : {group: i.group}),
      position,
    }
  })

const stringMap = z.record(z.string(), text, {error: 'expected a map of NAME: value'})
const commandForm = z.union([z.string(), z.array(z.string())], {error: 'expected a string (shell form) or a list of strings (exec form)'})
const duration = z.string().regex(/^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/, {error: 'expected a duration such as 30s or 1m30s'})

const healthcheck = z.union(
  [
    z.string(),
    strict({
      test: commandForm,
      interval: duration.optional(),
      timeout: duration.optional(),
      startPeriod: duration.optional(),
      retries: z.number().int().nonnegative().optional(),
    }),
  ],
  {error: 'expected a string ("CMD …" or "NONE") or a map with test, interval, timeout, startPeriod, retries'},
)

const relativeOrAbsolutePath = z.string({error: 'expected a path'}).refine((p) => p.trim() !== '', {error: 'must not be empty'})

const docker = strict({
  WORKDIR: relativeOrAbsolutePath.optional(),
  ONBUILD: stringList.optional(),
  ENV: stringMap.optional(),
  EXPOSE: z
    .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))], {error: 'expected a port or a list of ports'})
    .transform((v) => (Array.isArray(v) ? v : [v]).map(String))
    .refine((ports) => ports.every((p) => /^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p)), {error: 'expected ports such as 80 or "53/udp"'})
    .optional(),
  LABEL: stringMap.optional(),
  USER: nonEmptyText.optional(),
  ENTRYPOINT: commandForm.optional(),
  CMD: commandForm.optional(),
  VOLUME: listOfStrings('an absolute path', absolutePathProblem).optional(),
  HEALTHCHECK: healthcheck.optional(),
}).transform((d): DockerInstructions => {
  const out: DockerInstructions = {}
  for (const [k, v] of Object.entries(d)) {
    if (v === undefined) continue
    if (k === 'HEALTHCHECK') {
      const hc: HealthcheckConfig = typeof v === 'string' ? {test: v} : (v as HealthcheckConfig)
      out.HEALTHCHECK = hc
    } else {
      ;(out as Record<string, unknown>)[k] = v
    }
  }
  return out
})

const mount = strict({
  from: z.enum(['tmp_dir', 'build_dir'], {error: (iss) => `expected "tmp_dir" or "build_dir", got ${JSON.stringify(iss.input)}`}).optional(),
  fromPath: relativeOrAbsolutePath.optional(),
  to: absolutePath,
})
  .superRefine((m, ctx) => {
    if (m.from !== undefined && m.fromPath !== undefined) ctx.addIssue({code: 'custom', message: 'give either "from" or "fromPath", not both', path: ['fromPath']})
    else if (m.from === undefined && m.fromPath === undefined) ctx.addIssue({code: 'custom', message: 'say what to mount: "from: tmp_dir|build_dir" or "fromPath: PATH"', path: []})
  })
  .transform((m): MountSpec => (m.fromPath === undefined ? {from: m.from!, to: m.to} : {from: 'path', fromPath: m.fromPath, to: m.to}))

/** dapp and werf take any string as a name; `~` (or '') is the unnamed dimg, a list names several alike. */
const dimgNames = z
  .union([z.null(), text, z.array(nonEmptyText)], {error: 'expected a name or a list of names'})
  .transform((v): (string | null)[] => (Array.isArray(v) ? v : [v === null || v === '' ? null : v]))

/** The keys that name the base instead of `from`, and whether the base they name is an artifact. */
export const FROM_DIMG_KEYS = {fromDimg: false, fromImage: false, fromDimgArtifact: true, fromImageArtifact: true, fromArtifact: true} as const

export const documentSchema = strict({
  dimg: dimgNames.optional(),
  image: dimgNames.optional(),
  artifact: nonEmptyText.optional(),
  from: nonEmptyText.optional(),
  fromDimg: nonEmptyText.optional(),
  fromImage: nonEmptyText.optional(),
  fromDimgArtifact: nonEmptyText.optional(),
  fromImageArtifact: nonEmptyText.optional(),
  fromArtifact: nonEmptyText.optional(),
  fromCacheVersion: text.optional(),
  fromLatest: z.boolean({error: 'expected true or false'}).optional(),
  herebyIAdmitThatFromLatestMightBreakReproducibility: z.boolean({error: 'expected true or false'}).optional(),
  git: z.array(gitMapping, {error: 'expected a list of git mappings'}).optional(),
  shell: shell.optional(),
  import: z.array(importSpec, {error: 'expected a list of imports'}).optional(),
  docker: docker.optional(),
  mount: z.array(mount, {error: 'expected a list of mounts'}).optional(),
}).superRefine((d, ctx) => {
  const named = [d.dimg !== undefined && 'dimg', d.image !== undefined && 'image', d.artifact !== undefined && 'artifact'].filter(Boolean)
  if (named.length > 1) ctx.addIssue({code: 'custom', message: `a document is one dimg or one artifact: "${named[0]}" and "${named[1]}" cannot both be given`, path: [named[1] as string]})
  const bases = ['from', ...Object.keys(FROM_DIMG_KEYS)].filter((k) => d[k as keyof typeof d] !== undefined)
  if (bases.length === 0) ctx.addIssue({code: 'custom', message: 'missing "from": every dimg and artifact needs a base image', path: []})
  else if (bases.length > 1) ctx.addIssue({code: 'custom', message: `give one base: "${bases[0]}" and "${bases[1]}" cannot both be given`, path: [bases[1]]})
  if (d.artifact === undefined && d.shell?.buildArtifact !== undefined) ctx.addIssue({code: 'custom', message: 'the buildArtifact stage is only for artifacts', path: ['shell', 'buildArtifact']})
  const seen = new Set<string>()
  ;(d.mount ?? []).forEach((m, i) => {
    if (seen.has(m.to)) ctx.addIssue({code: 'custom', message: `"${m.to}" is mounted twice`, path: ['mount', i, 'to']})
    seen.add(m.to)
  })
})

export type DocumentInput = z.input<typeof documentSchema>
export type DocumentOutput = z.output<typeof documentSchema>
