import {randomBytes} from 'node:crypto'

import {LABEL, localStageName} from '../../../src/naming/index.js'
import {MediaType} from '../../../src/oci/media-types.js'
import {parseRef} from '../../../src/oci/ref.js'
import type {ImageManifest} from '../../../src/oci/types.js'
import {RegistryClient} from '../../../src/registry/index.js'
import {OciStore, storeRoot} from '../../../src/store/index.js'
import {runSkopeo} from '../../helpers/base-image.js'
import {startRegistry, useRegistry} from '../../helpers/registry.js'
import {Hosts, localStageSignatures, minus, oneLine, plannedSignatures, stageTagsOf, union} from './support.js'

/** `app` has a git mapping, so its gitArchive and later stages record the commit; `tool` has none. */
const DAPPFILE = `dimg: app
from: localhost:5000/base/busybox:latest
git:
  - add: /src
    to: /app
shell:
  install: [ls /app > /listing]
docker:
  CMD: ["cat", "/listing"]
---
dimg: tool
from: localhost:5000/base/busybox:latest
shell:
  beforeInstall: [echo tool > /tool]
`

const sigsOf = (result: {delete: Array<{signature: string}>}): string[] => result.delete.map(d => d.signature).sort()

/**
 * --improper-git-commit after a real rebase (the old commit garbage-collected), --improper-cache-version
 * with a stage whose labels say cache version "0", both alone and combined, locally and in REPO; and a
 * registry that refuses deletes.
 */
describe('cleanup policies: git commits that are gone, old cache versions', () => {
  const setup = useRegistry({base: true, project: {dappfile: DAPPFILE, files: {'src/a.txt': 'a\n'}, name: 'rebased'}})
  let repo: string
  let hosts: Hosts
  let a: string
  /** app's stages recorded with the rebased-away commit: gitArchive and everything after it */
  let goneCommitStages: string[]
  /** the stages written with cache version "0" (a parent and its child) */
  let oldVersionStages: string[]
  let oldParentChild: string[]
  let allBuilt: string[]

  beforeAll(async () => {
    repo = `${setup.reg.host}/rebased`
    hosts = new Hosts(() => setup.project.dir)
    a = hosts.make()
    await setup.project.commit('feature', {'src/b.txt': 'b\n'})
    const plan = await plannedSignatures(hosts, a, repo)
    await hosts.json(a, ['dimg', 'build'])
    await hosts.json(a, ['dimg', 'stages', 'push', repo])
    const rows = await hosts.json<any[]>(a, ['dimg', 'stages', 'list', 'local'])
    const app = rows.filter(r => r.dimg === 'app')
    const archive = app.find(r => r.stage === 'gitArchive')
    goneCommitStages = plan.app.slice(plan.app.indexOf(archive.signature)).sort()
    expect(goneCommitStages.length).toBe(3) // gitArchive, install, docker

    // an older slipway's stages: tool's beforeInstall re-labelled with cache version "0", and a child of it
    oldParentChild = await writeOldCacheVersionStages(rows.find(r => r.dimg === 'tool' && r.stage === 'beforeInstall'))
    oldVersionStages = [...oldParentChild].sort()
    allBuilt = [...union(...Object.values(plan), oldVersionStages)].sort()

    // the rebase: the feature commit is replaced and garbage-collected
    await setup.project.git(['reset', '-q', '--hard', 'HEAD~1'])
    await setup.project.commit('feature, rewritten', {'src/b.txt': 'b, rewritten\n'})
    await setup.project.git(['reflog', 'expire', '--expire=now', '--all'])
    await setup.project.git(['gc', '-q', '--prune=now'])
  }, 90_000)

  afterAll(async () => {
    await hosts?.removeAll()
  })

  async function writeOldCacheVersionStages(parentRow: {signature: string; digest: string}): Promise<string[]> {
    const store = await OciStore.open(storeRoot({SLIPWAY_HOME: a}))
    const client = new RegistryClient({env: {}})
    const written: string[] = []
    let parent = parentRow.signature
    let source = (await store.getManifest(parentRow.digest as any)) as ImageManifest
    for (let i = 0; i < 2; i++) {
      const signature = randomBytes(32).toString('hex')
      const annotations = {...source.annotations!, [LABEL.signature]: signature, [LABEL.parent]: parent, [LABEL.cacheVersion]: '0'}
      const manifest: ImageManifest = {...source, annotations}
      const desc = await store.writeJson(manifest, MediaType.OciManifest)
      await store.setRef(localStageName(setup.project.name, signature), desc, annotations)
      await client.putManifest(parseRef(`${repo}:dimgstage-${signature}`), Buffer.from(JSON.stringify(manifest)), MediaType.OciManifest)
      written.push(signature)
      parent = signature
      source = manifest
    }
    await client.close()
    return written
  }

  it('each policy alone selects only its stages (dry run), locally and in REPO', async () => {
    expect(await localStageSignatures(hosts, a)).toEqual(allBuilt)
    expect((await stageTagsOf(repo)).map(t => t.slice(10)).sort()).toEqual(allBuilt)
    for (const where of [['local'], ['repo', repo]]) {
      const git = await hosts.json(a, ['dimg', 'stages', 'cleanup', ...where, '--improper-git-commit', '--keep-younger-than', '0', '--dry-run'])
      expect(sigsOf(git)).toEqual(goneCommitStages)
      expect(git.delete.find((d: any) => d.stage === 'gitArchive').details[0]).toMatch(/^improper-git-commit: commit [0-9a-f]{12} is not in the git repository$/)
      const version = await hosts.json(a, ['dimg', 'stages', 'cleanup', ...where, '--improper-cache-version', '--keep-younger-than', '0', '--dry-run'])
      expect(sigsOf(version)).toEqual(oldVersionStages)
      expect(version.delete[0].details[0]).toBe('improper-cache-version: cache version "0" is not the current "1"')
      // the child goes before its parent
      expect(version.delete.map((d: any) => d.signature)).toEqual([...oldParentChild].reverse())
      // without --keep-younger-than 0 the grace period keeps them all
      const young = await hosts.json(a, ['dimg', 'stages', 'cleanup', ...where, '--improper-git-commit', '--improper-cache-version', '--dry-run'])
      expect(young.delete).toEqual([])
    }
  })

  it('a final image built from the vanished commit keeps its stages in REPO unless --force', async () => {
    // REPO/app:old names app's last stage, built at the old commit
    const rows = await hosts.json<any[]>(a, ['dimg', 'stages', 'list', 'repo', repo])
    const appDocker = rows.find(r => r.dimg === 'app' && r.stage === 'docker')
    expect(goneCommitStages).toContain(appDocker.signature)
    // the blobs into REPO/app first, then a final image manifest naming the stage
    await runSkopeo(['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${appDocker.image}`, `docker://${repo}/app:blobs`])
    const manifest = JSON.parse((await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${appDocker.image}`])).stdout)
    manifest.annotations = {[LABEL.finalStage]: appDocker.signature, [LABEL.finalDimg]: 'app'}
    const client = new RegistryClient({env: {}})
    await client.putManifest(parseRef(`${repo}/app:old`), Buffer.from(JSON.stringify(manifest)), MediaType.OciManifest)
    await client.close()
    const kept = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'repo', repo, '--improper-git-commit', '--keep-younger-than', '0', '--dry-run'])
    expect(kept.delete).toEqual([])
    expect(kept.keep.filter((k: any) => k.reason === 'in-use').map((k: any) => k.signature).sort()).toEqual(goneCommitStages)
    const forced = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'repo', repo, '--improper-git-commit', '--keep-younger-than', '0', '--dry-run', '--force'])
    expect(sigsOf(forced)).toEqual(goneCommitStages)
    await runSkopeo(['delete', '--tls-verify=false', `docker://${repo}/app:old`])
    await runSkopeo(['delete', '--tls-verify=false', `docker://${repo}/app:blobs`])
  })

  it('combined, they delete the union locally and in REPO; the rest stays and the project still builds', async () => {
    const doomed = [...union(goneCommitStages, oldVersionStages)].sort()
    const local = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'local', '--improper-git-commit', '--improper-cache-version', '--keep-younger-than', '0'])
    expect(sigsOf(local)).toEqual(doomed)
    expect(await localStageSignatures(hosts, a)).toEqual(minus(allBuilt, doomed))
    expect((await hosts.run(a, ['store', 'verify'])).code).toBe(0)
    const inRepo = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'repo', repo, '--improper-git-commit', '--improper-cache-version', '--keep-younger-than', '0'])
    expect(inRepo.deleted.map((r: string) => r.slice(repo.length + 11)).sort()).toEqual(doomed)
    expect((await stageTagsOf(repo)).map(t => t.slice(10)).sort()).toEqual(minus(allBuilt, doomed))
    // nothing left to do, and the rewritten commit builds on the stages that stayed
    const again = await hosts.json(a, ['dimg', 'stages', 'cleanup', 'local', '--improper-git-commit', '--improper-cache-version', '--keep-younger-than', '0'])
    expect(again.delete).toEqual([])
    const build = await hosts.json(a, ['dimg', 'build'])
    expect(build.dimgs.find((d: any) => d.name === 'tool').stages.every((s: any) => s.status === 'cached')).toBe(true)
    expect(build.dimgs.find((d: any) => d.name === 'app').stages[0].status).toBe('cached')
  }, 120_000)

  it('a registry with deletes disabled gets one clear line naming the setting', async () => {
    const noDelete = await startRegistry('plain', {deleteEnabled: false})
    try {
      const target = `${noDelete.host}/rebased`
      await hosts.json(a, ['dimg', 'stages', 'push', 'tool', target])
      const before = await stageTagsOf(target)
      expect(before).toHaveLength(2) // tool's from and beforeInstall
      const flush = await hosts.run(a, ['dimg', 'stages', 'flush', 'repo', target])
      expect(flush.code).toBe(7)
      expect(oneLine(flush)).toMatch(new RegExp(`^slipway: ${noDelete.host} does not allow deleting .*storage: delete: enabled: true`))
      const cleanup = await hosts.run(a, ['dimg', 'stages', 'cleanup', 'repo', target, '--improper-repo-cache', '--force', '--keep-younger-than', '0'])
      expect(cleanup.code).toBe(7)
      expect(oneLine(cleanup)).toContain('storage: delete: enabled: true')
      expect(await stageTagsOf(target)).toEqual(before)
    } finally {
      await noDelete.stop()
    }
  })
})
