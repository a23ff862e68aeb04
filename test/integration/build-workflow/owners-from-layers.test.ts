import {randomBytes} from 'node:crypto'
import {readdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {pushLayerImage} from '../../helpers/base-image.js'
import {freshHomes, runSlipway} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {getRawBlob, getRawManifest, putRawBlob, putRawManifest, startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {markTraffic, registryTraffic} from '../../helpers/registry-traffic.js'
import {listTar, type ListedEntry, tarOf} from '../../helpers/tar.js'
import {build, type BuildReport, storeDir} from './support.js'

/**
 * Owner/group names of git mappings resolved from the layer that holds /etc/passwd and /etc/group: a stage
 * whose parent recorded no owner ids (one an older slipway pushed) reads those two files from the parent's
 * layers, topmost first, and never downloads or unpacks the layers below them.
 */
let reg: TestRegistry
let project: TestProject
let repo: string
const REPO_PATH = 'owners'
const {home, removeAll} = freshHomes()
/** The base image's layers as the registry has them: a 2 MiB one without /etc, then the accounts. */
let bigLayer: string
let accountsLayer: string

const dappfile = (host: string): string => `dimg: app
from: ${host}/hostile/accounts:latest
git:
  - add: /
    to: /app
    owner: app
    group: staff
    excludePaths: [dappfile.yaml]
`

interface Manifest {
  config: {mediaType: string; digest: string; size: number}
  layers: {digest: string}[]
  annotations?: Record<string, string>
}

/** Rewrites REPO's stage tags without the owner-ids label, as a slipway that did not record them pushed them. */
async function forgetRecordedOwnerIds(): Promise<void> {
  const tags = ((await (await fetch(`${reg.url}/v2/${REPO_PATH}/tags/list`)).json()) as {tags: string[]}).tags
  for (const tag of tags.filter(t => t.startsWith('dimgstage-'))) {
    const raw = await getRawManifest(reg, REPO_PATH, tag)
    const manifest = JSON.parse(raw.bytes.toString('utf8')) as Manifest
    const config = JSON.parse((await getRawBlob(reg, REPO_PATH, manifest.config.digest)).toString('utf8')) as {config: {Labels?: Record<string, string>}}
    if (!config.config.Labels?.['dev.slipway.owner-ids'] && !manifest.annotations?.['dev.slipway.owner-ids']) continue
    delete config.config.Labels?.['dev.slipway.owner-ids']
    delete manifest.annotations?.['dev.slipway.owner-ids']
    const bytes = Buffer.from(JSON.stringify(config))
    manifest.config = {...manifest.config, digest: await putRawBlob(reg, REPO_PATH, bytes), size: bytes.length}
    await putRawManifest(reg, REPO_PATH, tag, {bytes: Buffer.from(JSON.stringify(manifest)), mediaType: raw.mediaType})
  }
}

/** uid/gid and content of `app/src.txt` in each layer blob of the store that has it. */
async function srcInStore(h: string): Promise<{uid?: number; gid?: number; content: string}[]> {
  const dir = join(storeDir(h), 'blobs', 'sha256')
  const out: {uid?: number; gid?: number; content: string}[] = []
  for (const name of await readdir(dir)) {
    const bytes = await readFile(join(dir, name))
    let entries: ListedEntry[]
    try {
      entries = await listTar(bytes)
    } catch {
      continue // a config or manifest
    }
    const found = entries.find(e => e.name.replace(/^\.?\//, '') === 'app/src.txt')
    if (found) out.push({uid: found.uid, gid: found.gid, content: found.content})
  }
  return out
}

const statuses = (r: BuildReport): Record<string, string> => Object.fromEntries(r.dimgs[0].stages.map(s => [s.name, s.status]))

beforeAll(async () => {
  reg = await startRegistry('plain')
  repo = `${reg.host}/${REPO_PATH}`
  const big = await tarOf([{header: {name: 'opt/', type: 'directory', mode: 0o755}}, {header: {name: 'opt/big.bin'}, content: randomBytes(2 * 1024 * 1024)}])
  const accounts = await tarOf([
    {header: {name: 'etc/', type: 'directory', mode: 0o755}},
    {header: {name: 'etc/passwd'}, content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n'},
    {header: {name: 'etc/group'}, content: 'root:x:0:\napp:x:1234:\nstaff:x:2345:app\n'},
  ])
  await pushLayerImage(reg, 'accounts', [big, accounts])
  const base = JSON.parse((await getRawManifest(reg, 'hostile/accounts', 'latest')).bytes.toString('utf8')) as Manifest
  ;[bigLayer, accountsLayer] = base.layers.map(l => l.digest)
  project = await makeProject({registryHost: reg.host, dappfile: dappfile(reg.host), files: {'src.txt': 'source v1\n'}})
  // host A builds and pushes the stages
  const a = home()
  await build(project.dir, {SLIPWAY_HOME: a})
  const push = await runSlipway(['dimg', 'stages', 'push', repo, '--dir', project.dir], {env: {SLIPWAY_HOME: a}})
  if (push.code !== 0) throw new Error(push.stderr)
  await forgetRecordedOwnerIds()
}, 120_000)

afterAll(async () => {
  await reg?.stop()
  await removeAll()
})

it('a source-only change on an empty store builds the latest patch with owners read from the accounts layer alone', async () => {
  await project.commit('source only', {'src.txt': 'source v2\n'})
  const b = home()
  const mark = await markTraffic(reg)
  const report = await build(project.dir, {SLIPWAY_HOME: b}, ['--repo', repo])
  const traffic = await registryTraffic(reg, mark)
  expect(statuses(report)).toMatchObject({gitArchive: 'cached-remote', gitLatestPatch: 'built'})
  expect(await srcInStore(b)).toContainEqual({uid: 1234, gid: 2345, content: 'source v2\n'})
  expect({accounts: traffic.blobs[accountsLayer]?.gets, big: traffic.blobs[bigLayer]?.gets ?? 0}).toEqual({accounts: 1, big: 0})
  // besides it, only the small git layer above it (read for whiteouts) came down
  expect(traffic.layersDownloaded.filter(d => d !== accountsLayer)).toHaveLength(1)
  expect(traffic.layerBytesDownloaded).toBeLessThan(64 * 1024)
}, 120_000)
