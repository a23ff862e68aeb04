import {execFileSync} from 'node:child_process'
import {chmod, mkdir, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {extractLayer} from '../../../src/layer/extract.js'
import {gitArchiveLayer, gitPatchChanges, gitPatchLayer} from '../../../src/layer/git-layer.js'
import type {PathMapping} from '../../../src/layer/path-mapping.js'
import {listTar} from '../../helpers/tar.js'
import {collectLayer, describeTree, useRootsDir} from '../../helpers/roots.js'

const T1 = 1_600_000_000
const T2 = 1_700_000_000

function gitIn(repo: string, args: string[], time = T1): string {
  return execFileSync('git', args, {cwd: repo, env: {...process.env, GIT_AUTHOR_DATE: `${time} +0000`, GIT_COMMITTER_DATE: `${time} +0000`}}).toString().trim()
}

const MAPPINGS: PathMapping[] = [
  {add: '/src', to: '/app', excludePaths: ['test'], owner: 1000, group: 1001},
  {add: '/bin/run', to: '/usr/local/bin/run'},
  {add: '/', to: '/all', includePaths: ['*.md', 'link']},
]

describe('git layers', () => {
  const work = useRootsDir()
  let repo: string
  let c1: string
  let c2: string
  beforeAll(async () => {
    repo = join(work.path, 'repo')
    await mkdir(join(repo, 'src/lib'), {recursive: true})
    await mkdir(join(repo, 'src/test'))
    await mkdir(join(repo, 'bin'))
    await writeFile(join(repo, 'README.md'), '# readme\n')
    await writeFile(join(repo, 'notes.txt'), 'not included\n')
    await writeFile(join(repo, 'src/a.js'), 'a1\n')
    await writeFile(join(repo, 'src/lib/b.js'), 'b\n')
    await writeFile(join(repo, 'src/lib/keep.js'), 'keep\n')
    await writeFile(join(repo, 'src/test/t.js'), 't\n')
    await writeFile(join(repo, 'bin/run'), '#!/bin/sh\n')
    await chmod(join(repo, 'bin/run'), 0o755)
    await symlink('src/a.js', join(repo, 'link'))
    gitIn(repo, ['init', '-q', '-b', 'main'])
    gitIn(repo, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A'])
    gitIn(repo, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'one'])
    c1 = gitIn(repo, ['rev-parse', 'HEAD'])
    await writeFile(join(repo, 'src/a.js'), 'a2 changed\n')
    await rm(join(repo, 'src/lib/b.js'))
    await writeFile(join(repo, 'src/c.js'), 'c\n')
    await writeFile(join(repo, 'src/test/t.js'), 't2\n')
    await rm(join(repo, 'README.md'))
    gitIn(repo, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A'], T2)
    gitIn(repo, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'two'], T2)
    c2 = gitIn(repo, ['rev-parse', 'HEAD'])
  })

  it('writes the mapped paths of a commit with include/exclude, owner and the commit time, deterministically', async () => {
    const {data, blob} = await collectLayer(await gitArchiveLayer({repoDir: repo, commit: c1, mappings: MAPPINGS}))
    const entries = await listTar(data)
    expect(entries.map(e => `${e.name} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid}`)).toEqual([
      'all/ directory 755 0:0',
      'all/README.md file 644 0:0',
      'all/link symlink 777 0:0',
      'app/ directory 755 1000:1001',
      'app/a.js file 644 1000:1001',
      'app/lib/ directory 755 1000:1001',
      'app/lib/b.js file 644 1000:1001',
      'app/lib/keep.js file 644 1000:1001',
      'usr/ directory 755 0:0',
      'usr/local/ directory 755 0:0',
      'usr/local/bin/ directory 755 0:0',
      'usr/local/bin/run file 755 0:0',
    ])
    expect(new Set(entries.map(e => e.mtime))).toEqual(new Set([T1]))
    expect(entries.find(e => e.name === 'all/link')!.linkname).toBe('src/a.js')
    expect(entries.find(e => e.name === 'app/a.js')!.content).toBe('a1\n')
    const again = await collectLayer(await gitArchiveLayer({repoDir: repo, commit: c1, mappings: MAPPINGS}))
    expect(again.blob).toEqual(blob)
  })

  it('turns the diff between commits into a patch layer that brings the tree up to date', async () => {
    const patch = await gitPatchChanges({repoDir: repo, fromCommit: c1, toCommit: c2, mappings: MAPPINGS})
    expect(patch.files.map(f => `${f.kind} ${f.path}`)).toEqual(['delete all/README.md', 'write app/a.js', 'write app/c.js', 'delete app/lib/b.js'])
    expect(patch.empty).toBe(false)
    expect((await gitPatchChanges({repoDir: repo, fromCommit: c1, toCommit: c2, mappings: MAPPINGS})).contentId).toBe(patch.contentId)
    const empty = await gitPatchChanges({repoDir: repo, fromCommit: c2, toCommit: c2, mappings: MAPPINGS})
    expect(empty.empty).toBe(true)

    const {data} = await collectLayer(await gitPatchLayer(patch, {repoDir: repo, mappings: MAPPINGS}))
    expect((await listTar(data)).map(e => e.name)).toEqual(['all/', 'all/.wh.README.md', 'app/', 'app/a.js', 'app/c.js', 'app/lib/', 'app/lib/.wh.b.js'])

    const patched = join(work.path, 'patched')
    const fresh = join(work.path, 'fresh')
    await extractLayer((await gitArchiveLayer({repoDir: repo, commit: c1, mappings: MAPPINGS})).stream, patched)
    await extractLayer(Readable.from([data]), patched)
    await extractLayer((await gitArchiveLayer({repoDir: repo, commit: c2, mappings: MAPPINGS})).stream, fresh)
    expect(await describeTree(patched)).toEqual(await describeTree(fresh))
  })

  it('reports an unknown commit as not found', async () => {
    await expect(gitArchiveLayer({repoDir: repo, commit: 'f'.repeat(40), mappings: MAPPINGS})).rejects.toMatchObject({kind: 'not-found'})
  })
})
