import {readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {MediaType} from '../../../src/oci/media-types.js'
import {OciStore} from '../../../src/store/index.js'

import {REPO_ROOT, runSlipway} from '../../helpers/cli.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir} from '../../helpers/tmp.js'

/**
 * What WorkflowCommand does for every command. A command closes its workflow context however it ends (WorkflowCommand's `finally`): the registry
 * client's keep-alive connections are closed before the process exits, also when the command failed after
 * talking to the registry. test/helpers/open-sockets.mjs, preloaded into the CLI, counts undici's
 * connections and those still open at exit.
 */
const setup = useRegistry({base: true})

async function sockets(args: string[]): Promise<{code: number; stderr: string; opened: number; open: number}> {
  const file = join(await makeTempDir('sockets'), 'sockets.json')
  const preload = join(REPO_ROOT, 'test', 'helpers', 'open-sockets.mjs')
  const r = await runSlipway(args, {env: {SLIPWAY_HOME: setup.freshHome(), ...setup.reg.env(), NODE_OPTIONS: `--import ${preload}`, SLIPWAY_TEST_SOCKETS_FILE: file}})
  return {code: r.code, stderr: r.stderr, ...(JSON.parse(await readFile(file, 'utf8')) as {opened: number; open: number})}
}

it('a command that fails after talking to the registry has closed its connections when it exits', async () => {
  const r = await sockets(['image', 'pull', `${setup.reg.host}/base/busybox:no-such-tag`])
  expect([r.code, r.stderr]).toEqual([5, `slipway: manifest ${setup.reg.host}/base/busybox:no-such-tag not found on ${setup.reg.host}: MANIFEST_UNKNOWN: manifest unknown\n`])
  // one connection: the manifest request that found nothing
  expect({opened: r.opened, open: r.open}).toEqual({opened: 1, open: 0})
})

it('so does one that succeeded', async () => {
  const r = await sockets(['image', 'pull', `${setup.reg.host}/base/busybox:latest`, '--quiet'])
  expect(r.code).toBe(0)
  expect(r.open).toBe(0)
  expect(r.opened).toBeGreaterThanOrEqual(1) // the blobs may come over several connections (--jobs)
})

it.each([
  ['stages list repo', ['dimg', 'stages', 'list', 'repo', 'REPO/base/busybox', '--json']],
  ['stages flush repo --dry-run', ['dimg', 'stages', 'flush', 'repo', 'REPO/base/busybox', '--dry-run']],
])('and so does %s, another command on the same base', async (_name, args) => {
  const project = await makeProject({registryHost: setup.reg.host, dappfile: 'dimg: app\nfrom: localhost:5000/base/busybox:latest\n'})
  const r = await sockets([...args.map(a => a.replace('REPO', setup.reg.host)), '--dir', project.dir])
  expect({code: r.code, stderr: r.code === 0 ? '' : r.stderr}).toEqual({code: 0, stderr: ''})
  expect(r.opened).toBeGreaterThanOrEqual(1) // the tag list, and a manifest per tag
  expect(r.open).toBe(0)
})

it('store verify prints a bad store\'s report, as JSON or as text, and then fails with exit 8', async () => {
  const home = setup.freshHome()
  const store = await OciStore.open(join(home, 'store'))
  const l = await store.writeBlobBytes('a layer')
  const layer = {mediaType: MediaType.OciLayer, digest: l.digest, size: l.size}
  const config = await store.writeJson({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [l.digest]}}, MediaType.OciConfig)
  const manifest = await store.writeJson({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer]}, MediaType.OciManifest)
  await store.setRef('damaged', manifest)
  await rm(store.paths.blob(l.digest))
  const failure = 'slipway: the local store has corrupt or missing blobs: delete the affected images (or the store) and pull or build them again\n'

  const json = await runSlipway(['store', 'verify', '--json'], {env: {SLIPWAY_HOME: home}})
  expect([json.code, json.stderr]).toEqual([8, failure])
  expect(JSON.parse(json.stdout)).toEqual({ok: false, checked: 2, corrupt: [], missing: [{digest: l.digest, referencedBy: manifest.digest}], orphanTemp: []})

  const text = await runSlipway(['store', 'verify'], {env: {SLIPWAY_HOME: home}})
  expect([text.code, text.stderr]).toEqual([8, failure])
  expect(text.stdout).toBe(`checked 2 blobs: 0 corrupt, 1 missing, 0 leftover temporary files\nmissing ${l.digest} (referenced by ${manifest.digest})\n`)
})
