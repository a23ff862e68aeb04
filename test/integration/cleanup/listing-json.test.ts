import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {pushBaseImage, runSkopeo} from '../../helpers/base-image.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {getRawManifest, startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {Hosts, stageTagsOf, tagsOf} from './support.js'

/**
 * The exact bytes of `dimg stages list --json` (key order, nulls, sort order, usedBy), pinned against rows
 * derived here from the registry's manifests and the store's OCI layout, not from slipway: the listing is
 * the same whichever stages cache it is read from. And the cleanup plans of the two caches agree.
 */
let reg: TestRegistry
let project: TestProject
let repo: string
let hosts: Hosts
let a: string
const REPO_PATH = 'pinned'

const dappfile = (host: string): string => `dimg: app
from: ${host}/base/busybox:latest
git:
  - add: /
    to: /app
    excludePaths: [dappfile.yaml]
shell:
  install:
    - echo installed > /installed
docker:
  CMD: ["cat", "/app/src.txt"]
`

interface Manifest {
  layers: {size: number}[]
  annotations?: Record<string, string>
}

/** A row as StageRow has it, in its key order, from a manifest's annotations. */
function row(signature: string, image: string, digest: string, m: Manifest, usedBy: string[]): Record<string, unknown> {
  const a = m.annotations ?? {}
  return {
    signature,
    dimg: a['dev.slipway.dimg'] || null,
    stage: a['dev.slipway.stage.name'],
    size: m.layers.reduce((n, l) => n + l.size, 0),
    created: a['org.opencontainers.image.created'],
    usedBy,
    image,
    digest,
    parent: a['dev.slipway.stage.parent'] || null,
    cacheVersion: a['dev.slipway.cache-version'],
    gitCommit: a['dev.slipway.git.commit'] ?? null,
  }
}

const sha256 = async (bytes: Buffer): Promise<string> => `sha256:${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`

/** signature → manifest digest and manifest, for REPO's stage tags. */
async function repoStages(): Promise<Map<string, {digest: string; manifest: Manifest}>> {
  const out = new Map<string, {digest: string; manifest: Manifest}>()
  for (const tag of await stageTagsOf(repo)) {
    const raw = await getRawManifest(reg, REPO_PATH, tag)
    out.set(tag.slice('dimgstage-'.length), {digest: await sha256(raw.bytes), manifest: JSON.parse(raw.bytes.toString('utf8')) as Manifest})
  }
  return out
}

/** signature → the final images of REPO/app whose stage chain reaches it (walked through the parent labels). */
async function usage(stages: Map<string, {manifest: Manifest}>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const tag of await tagsOf(`${repo}/app`)) {
    const final = JSON.parse((await getRawManifest(reg, `${REPO_PATH}/app`, tag)).bytes.toString('utf8')) as Manifest
    for (let s: string | undefined = final.annotations?.['dev.slipway.final.stage-signature']; s; s = stages.get(s)?.manifest.annotations?.['dev.slipway.stage.parent']) {
      out.set(s, [...(out.get(s) ?? []), `${repo}/app:${tag}`].sort())
    }
  }
  return out
}

const sorted = (rows: Record<string, unknown>[]): Record<string, unknown>[] =>
  rows.sort((x, y) => String(x.dimg ?? '').localeCompare(String(y.dimg ?? '')) || String(x.created).localeCompare(String(y.created)) || String(x.signature).localeCompare(String(y.signature)))

const asPrinted = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`

async function stdoutOf(args: string[]): Promise<string> {
  const r = await hosts.run(a, [...args, '--json'])
  if (r.code !== 0) throw new Error(`slipway ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}

beforeAll(async () => {
  reg = await startRegistry('plain')
  await pushBaseImage(reg)
  repo = `${reg.host}/${REPO_PATH}`
  project = await makeProject({registryHost: reg.host, dappfile: dappfile(reg.host), files: {'src.txt': 'source v1\n'}})
  hosts = new Hosts(() => project.dir)
  a = hosts.make()
  await hosts.json(a, ['dimg', 'bp', repo, '--with-stages', '--tag-plain', 'v1'])
  await project.commit('v2', {'src.txt': 'source v2\n'})
  await hosts.json(a, ['dimg', 'bp', repo, '--with-stages', '--tag-plain', 'v2'])
  await project.commit('v3', {'src.txt': 'source v3\n'})
  await hosts.json(a, ['dimg', 'bp', repo, '--with-stages', '--tag-plain', 'v3'])
  await runSkopeo(['delete', '--tls-verify=false', `docker://${repo}/app:v1`])
}, 180_000)

afterAll(async () => {
  await reg?.stop()
  await hosts?.removeAll()
})

it('stages list repo --json prints exactly the rows REPO\'s manifests give', async () => {
  const stages = await repoStages()
  const used = await usage(stages)
  const expected = sorted([...stages].map(([sig, s]) => row(sig, `${repo}:dimgstage-${sig}`, s.digest, s.manifest, used.get(sig) ?? [])))
  expect(expected.length).toBeGreaterThanOrEqual(7)
  // v1's own stage: its docker stage (from, gitArchive and install are v2's and v3's too)
  expect(expected.filter(r => (r.usedBy as string[]).length === 0).map(r => r.stage)).toEqual(['docker'])
  expect(await stdoutOf(['dimg', 'stages', 'list', 'repo', repo])).toBe(asPrinted(expected))
})

it('stages list local --json prints exactly the rows the store\'s layout gives (usedBy from REPO with --repo)', async () => {
  const store = join(a, 'store')
  const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as {manifests: {digest: string; annotations?: Record<string, string>}[]}
  const prefix = `dimgstage-${project.name}:`
  const local = await Promise.all(
    index.manifests
      .filter(d => d.annotations?.['org.opencontainers.image.ref.name']?.startsWith(prefix))
      .map(async d => {
        const m = JSON.parse(await readFile(join(store, 'blobs', 'sha256', d.digest.slice(7)), 'utf8')) as Manifest
        const name = d.annotations!['org.opencontainers.image.ref.name']
        return {signature: name.slice(prefix.length), name, digest: d.digest, manifest: {...m, annotations: {...m.annotations, ...d.annotations}}}
      }),
  )
  const used = await usage(await repoStages())
  const expected = (usedBy: (sig: string) => string[]) => sorted(local.map(s => row(s.signature, s.name, s.digest, s.manifest, usedBy(s.signature))))
  expect(await stdoutOf(['dimg', 'stages', 'list', 'local', '--repo', repo])).toBe(asPrinted(expected(sig => used.get(sig) ?? [])))
  expect(await stdoutOf(['dimg', 'stages', 'list', 'local'])).toBe(asPrinted(expected(() => [])))
})

it('the cleanup and flush plans of REPO and of the local cache print the same JSON (dry runs)', async () => {
  const cleanup = ['--improper-repo-cache', '--keep-younger-than', '0', '--dry-run']
  const inRepo = await stdoutOf(['dimg', 'stages', 'cleanup', 'repo', repo, ...cleanup])
  const used = await usage(await repoStages())
  const unused = (await stageTagsOf(repo)).filter(t => !used.has(t.slice('dimgstage-'.length)))
  expect(unused).toHaveLength(1) // v1's docker stage
  expect(JSON.parse(inRepo).delete.map((d: {signature: string}) => d.signature)).toEqual(unused.map(t => t.slice('dimgstage-'.length)))
  expect(await stdoutOf(['dimg', 'stages', 'cleanup', 'local', repo, ...cleanup])).toBe(inRepo)
  const flushed = await stdoutOf(['dimg', 'stages', 'flush', 'repo', repo, '--dry-run'])
  expect(JSON.parse(flushed).delete.length).toBe((await stageTagsOf(repo)).length)
  expect(await stdoutOf(['dimg', 'stages', 'flush', 'local', '--dry-run'])).toBe(flushed)
})
