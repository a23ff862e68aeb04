import {describe, expect, it} from '@jest/globals'

import {SlipwayError} from '../../../src/errors.js'
import {GitCommandError, runGit} from '../../../src/git/git.js'
import {blobSizes, commitTime, existingCommits, GitBlobReader, objectInfo} from '../../../src/git/objects.js'
import {makeProject} from '../../helpers/project.js'
import {makeTempDir} from '../../helpers/tmp.js'

describe('git objects, read through the one git runner', () => {
  it('answers what many objects are from one cat-file --batch-check: commits, blobs with sizes, unknown names absent', async () => {
    const p = await makeProject({registryHost: 'localhost:5000', dappfile: 'dimg: x\nfrom: alpine\n', files: {'a.txt': 'hello\n', 'b.bin': 'x'.repeat(1000)}})
    const head = await p.head()
    const a = (await p.git(['rev-parse', 'HEAD:a.txt'])).trim()
    const b = (await p.git(['rev-parse', 'HEAD:b.bin'])).trim()
    const missing = 'f'.repeat(40)
    const info = await objectInfo(p.dir, [head, a, b, missing, a, 'not an object name'])
    expect([...info].sort()).toEqual([[a, {type: 'blob', size: 6}], [b, {type: 'blob', size: 1000}], [head, {type: 'commit', size: expect.any(Number)}]].sort())
    expect(await blobSizes(p.dir, [a, b, head, missing])).toEqual(new Map([[a, 6], [b, 1000]]))
    expect(await existingCommits(p.dir, [head, a, missing])).toEqual(new Set([head]))
    expect(await existingCommits(p.dir, [])).toEqual(new Set())
    expect(await commitTime(p.dir, head)).toBe(Number((await p.git(['show', '-s', '--format=%ct', 'HEAD'])).trim()))
    const reader = new GitBlobReader(p.dir)
    try {
      expect((await reader.readAll(a)).toString()).toBe('hello\n')
      expect((await reader.readAll(b)).length).toBe(1000)
    } finally {
      reader.close()
    }
  })

  it('a failed git command is one SlipwayError naming the subcommand and directory, whichever helper ran it', async () => {
    const notRepo = await makeTempDir('not-a-repo')
    for (const attempt of [() => objectInfo(notRepo, ['HEAD']), () => commitTime(notRepo, 'HEAD'), () => runGit(notRepo, ['ls-tree', 'HEAD'])]) {
      const e = await attempt().then(() => undefined, (err: unknown) => err)
      expect(e).toBeInstanceOf(GitCommandError)
      expect(e).toBeInstanceOf(SlipwayError)
      expect((e as SlipwayError).kind).toBe('not-found')
      expect((e as SlipwayError).message).toMatch(new RegExp(`^git (cat-file|show|ls-tree) in ${notRepo} failed: .*not a git repository`))
    }
  })
})
