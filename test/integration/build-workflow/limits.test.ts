/**
 * Input past what a file system or a call stack holds, each answered with one line: a layer name component
 * over 255 bytes, git trees with entries no checkout could create, and a 2,500-deep artifact chain.
 */

import {pushLayerImage} from '../../helpers/base-image.js'
import {runSlipway} from '../../helpers/cli.js'
import {makeProject, type RawTreeEntry} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {tarOf} from '../../helpers/tar.js'
import {buildEnv, runBuild, storeRefs} from './support.js'

describe('one clear line for input past the limits', () => {
  const setup = useRegistry({base: true})


  it('a base image layer with a name component over 255 bytes: exit 8, one line naming the limit', async () => {
    const long = 'n'.repeat(300)
    const ref = await pushLayerImage(setup.reg, 'long-name', await tarOf([{header: {name: `etc/${long}`}, content: 'x'}]))
    const project = await makeProject({registryHost: setup.reg.host, dappfile: `from: ${ref}\nshell:\n  install: [echo hi > /hi]\n`})
    const r = await runBuild(project.dir, buildEnv(setup.reg, setup.home))
    expect(r.code).toBe(8)
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^slipway: layer sha256:[0-9a-f]{64} entry "etc/n{116}…" has a name of 300 bytes, and Linux allows at most 255: the image cannot be unpacked on Linux; rebuild it without that file$`)),
    ])
  })

  const hostileTrees: [string, RawTreeEntry[], string][] = [
    ['web/../../x (writes outside `to`)', [{name: 'web', tree: [{name: '..', tree: [{name: '..', tree: [{name: 'x', content: 'pwned'}]}]}]}], 'web/..'],
    ['a ".." entry at the top', [{name: '..', tree: [{name: 'x', content: 'pwned'}]}, {name: 'web', tree: [{name: 'index.html', content: 'hi'}]}], '..'],
    ['a "." entry', [{name: 'web', tree: [{name: '.', tree: [{name: 'x', content: 'pwned'}]}]}], 'web/.'],
    ['a name with "/"', [{name: 'web', tree: [{name: 'a/b', content: 'slash'}]}], 'web/a/b'],
  ]

  it.each(hostileTrees)('a git tree entry %s: exit 8, one line naming the entry, nothing built', async (_what, tree, shown) => {
    const dappfile = `from: ${setup.base}\ngit:\n  - add: /web\n    to: /srv/app/web\nshell:\n  install: [ls -R /srv > /listing]\n`
    const project = await makeProject({registryHost: setup.reg.host, dappfile})
    const commit = await project.commitRawTree('hand-made tree', [{name: 'dappfile.yaml', content: dappfile}, ...tree])
    const stages = async (): Promise<string[]> => (await storeRefs(setup.home).catch(() => [])).filter(ref => ref.startsWith('dimgstage-'))
    const stagesBefore = await stages()
    const r = await runBuild(project.dir, buildEnv(setup.reg, setup.home))
    expect(r.code).toBe(8)
    const escaped = shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    // the hand-made commit differs from the work tree, which the build rightly warns of
    expect(r.stderr.trim().split('\n').filter(l => !l.startsWith('warning: '))).toEqual([
      expect.stringMatching(new RegExp(`^slipway: the git tree of ${commit} in \\S+ has an entry "${escaped}", which is not a plain path \\(a "\\." or "\\.\\." component, or a "/" inside a name\\): the commit was made by hand`)),
    ])
    expect(await stages()).toEqual(stagesBefore)
  })

  it('a 2,500-deep artifact chain is planned (dimg stages push --dry-run lists every stage)', async () => {
    const depth = 2500
    const docs = [`dimg: app\nfrom: ${setup.base}\nimport:\n  - {artifact: a1, add: /out, to: /out, after: setup}\n`]
    for (let i = 1; i <= depth; i++) {
      const next = i < depth ? `import:\n  - {artifact: a${i + 1}, add: /out, to: /out, after: setup}\n` : ''
      docs.push(`artifact: a${i}\nfrom: ${setup.base}\n${next}shell:\n  setup: [mkdir -p /out, echo ${i} > /out/${i}]\n`)
    }
    const project = await makeProject({registryHost: setup.reg.host, dappfile: docs.join('---\n')})
    const r = await runSlipway(['dimg', 'stages', 'push', `${setup.reg.host}/chain`, '--dry-run', '--dir', project.dir], {env: buildEnv(setup.reg, setup.home)})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const headings = r.stdout.split('\n').filter(l => l !== '' && !l.startsWith(' '))
    expect(headings).toHaveLength(depth + 1)
    expect(headings[0]).toBe(`a${depth}`)
    expect(headings[headings.length - 1]).toBe('app')
  })
})

