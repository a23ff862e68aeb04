import {parseDappfile} from '../../../src/config/load.js'
import {importSourceKey, planBaseStages} from '../../../src/stage/stage-plan.js'
import {buildOrder, importSourceSignature} from '../../../src/project/project-plan.js'

const CONFIG = `dimg: app
fromDimg: base
import: [{artifact: tools, add: /out, after: install}]
---
dimg: base
fromArtifact: rootfs
---
dimg: other
from: alpine
---
artifact: rootfs
from: alpine
---
artifact: tools
fromDimgArtifact: rootfs
`

describe('buildOrder', () => {
  const config = parseDappfile(CONFIG, 'dappfile.yaml')
  const names = (selected: string[]): string[] => buildOrder(config, selected).order.map((d) => d.name as string)

  it('puts every dimg after the dimg it is built on and the artifacts it imports', () => {
    expect(names([])).toEqual(['rootfs', 'tools', 'base', 'app', 'other'])
  })

  it('builds what a selected dimg stands on, and marks only the selected ones', () => {
    expect(names(['app'])).toEqual(['rootfs', 'tools', 'base', 'app'])
    const {order, selected} = buildOrder(config, ['app'])
    expect(order.filter((d) => selected.has(d)).map((d) => d.name)).toEqual(['app'])
    expect(names(['base'])).toEqual(['rootfs', 'base'])
  })
})

describe('import sources (import: image, stage)', () => {
  const text = `dimg: web
from: alpine
shell: {beforeInstall: [a], setup: [c]}
git: [{add: /, to: /src}]
---
dimg: app
from: alpine
import:
  - {image: web, add: /src, after: install}
  - {image: web, add: /src, to: /last, stage: setup, after: setup}
`
  const config = parseDappfile(text, 'werf.yaml')
  const web = config.dimgs[0]
  const REV = {commit: 'a'.repeat(40), contentRef: 'a'.repeat(40)}
  const stages = planBaseStages(web, {revision: REV, dependencyChecksums: [{}], artifactSignatures: {}}, {dev: false})
  const source = {name: 'web', isArtifact: false, stages, lastSignature: stages.at(-1)!.signature, imports: [], selected: true}
  const signatureOf = (name: string): string => stages.find((s) => s.name === name)!.signature

  it('parses an image as the source, with the stage to copy from', () => {
    expect(config.dimgs[1].imports.map((i) => [i.artifact, i.fromImage, i.stage])).toEqual([
      ['web', true, undefined],
      ['web', true, 'setup'],
    ])
    expect(buildOrder(config, ['app']).order.map((d) => d.name)).toEqual(['web', 'app'])
  })

  it("copies from the source's last stage, or from the image as it is after the stage named", () => {
    expect(importSourceSignature(source, undefined)).toBe(signatureOf('setup'))
    expect(importSourceSignature(source, 'beforeInstall')).toBe(signatureOf('beforeInstall'))
    // install and beforeSetup are empty: the image after them is the one after gitArchive
    expect(importSourceSignature(source, 'install')).toBe(signatureOf('gitArchive'))
    expect(importSourceSignature(source, 'beforeSetup')).toBe(signatureOf('gitArchive'))
  })

  it("moves an import stage's signature when the chosen stage does, and only then", () => {
    const app = config.dimgs[1]
    const planApp = (install: string, setup: string): string[] =>
      planBaseStages(app, {dependencyChecksums: [], artifactSignatures: {[importSourceKey({artifact: 'web'})]: install, [importSourceKey({artifact: 'web', stage: 'setup'})]: setup}}, {dev: false}).map((s) => s.signature)
    const before = planApp('1'.repeat(64), '2'.repeat(64))
    const after = planApp('1'.repeat(64), '3'.repeat(64))
    expect(after.slice(0, 2)).toEqual(before.slice(0, 2))
    expect(after[2]).not.toBe(before[2])
  })

  it('refuses a stage werf does not have', () => {
    expect(() => parseDappfile(text.replace('stage: setup', 'stage: docker'), 'werf.yaml')).toThrow(/stage: expected beforeInstall, install, beforeSetup or setup, got "docker"/)
  })
})
