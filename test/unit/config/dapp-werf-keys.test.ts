import {applyDockerInstructions} from '../../../src/image/docker-instructions.js'
import {parseDappfile} from '../../../src/config/load.js'
import {finalImageRepository, nameComponent} from '../../../src/naming/index.js'

/** Keys and shapes dapp (dappfile.yaml) and werf 1.x (werf.yaml) accept, read with their semantics. */
const parse = (text: string, file = 'dappfile.yaml') => parseDappfile(text, file)

describe('dapp and werf keys', () => {
  it('takes any string as a dimg, image or artifact name', () => {
    const config = parse('dimg: Back End/API\nfrom: alpine\nimport: [{artifact: "Assets (prod)", add: /out, after: setup}]\n---\nartifact: Assets (prod)\nfrom: alpine\n')
    expect(config.dimgs.map((d) => d.name)).toEqual(['Back End/API', 'Assets (prod)'])
  })

  it('reads werf image and artifact documents; image: ~ is the unnamed image', () => {
    const config = parse('configVersion: 1\nproject: shop\n---\nartifact: build\nfrom: golang:1.22\n---\nimage: ~\nfrom: alpine\nimport: [{artifact: build, add: /go/bin/app, to: /usr/bin/app, before: setup}]\n', 'werf.yaml')
    expect(config.project).toBe('shop')
    expect(config.dimgs.map((d) => [d.name, d.isArtifact])).toEqual([['build', true], [null, false]])
  })

  it('makes one dimg per name of a list', () => {
    const config = parse('dimg: [api, worker]\nfrom: alpine\nshell: {install: make}\n')
    expect(config.dimgs.map((d) => [d.name, d.shell.commands.install])).toEqual([['api', ['make']], ['worker', ['make']]])
  })

  it('reads a stage whose commands are all commented out as no commands', () => {
    const config = parse('from: alpine\nshell:\n  beforeInstall:\n  #  - apk add curl\n  install:\n    - make\ndocker:\n  ENV:\n    EMPTY:\ngit:\nmount:\n')
    const [d] = config.dimgs
    expect(d.shell.commands).toEqual({beforeInstall: [], install: ['make'], beforeSetup: [], setup: []})
    expect(d.docker.ENV).toEqual({EMPTY: ''})
    expect([d.git, d.mounts]).toEqual([[], []])
  })

  it('merges YAML merge keys', () => {
    const [d] = parse('from: alpine\ngit:\n  - &src {add: /src, to: /app, owner: app}\n  - <<: *src\n    add: /conf\n    to: /etc/app\ndocker:\n  ENV: &env {A: "1", B: "2"}\n  LABEL:\n    <<: *env\n    B: "3"\n').dimgs
    expect(d.git.map((g) => [g.add, g.to, g.owner])).toEqual([['/src', '/app', 'app'], ['/conf', '/etc/app', 'app']])
    expect(d.docker.LABEL).toEqual({A: '1', B: '3'})
  })

  it('keeps a relative WORKDIR and ONBUILD for the docker stage', () => {
    const [d] = parse('from: alpine\ndocker:\n  WORKDIR: app\n  ONBUILD: [RUN make, "COPY . /src"]\n').dimgs
    expect(d.docker).toEqual({WORKDIR: 'app', ONBUILD: ['RUN make', 'COPY . /src']})
  })

  it('reads git as and the herebyIAdmitThat… keys (accepted, no effect)', () => {
    const [d] = parse('from: alpine\nfromLatest: true\nherebyIAdmitThatFromLatestMightBreakReproducibility: true\ngit:\n  - as: app\n    to: /app\n').dimgs
    expect(d.git[0]).toMatchObject({as: 'app', add: '/', to: '/app'})
    expect(d.fromLatest).toBe(true)
  })

  it('parses the keys the build side plans: bases, image imports, fromPath, remote git, buildArtifact', () => {
    const config = parse(`image: base
from: alpine
---
artifact: tools
fromImage: base
shell:
  buildArtifact: [make dist]
  buildArtifactCacheVersion: 2
mount:
  - fromPath: ../cache
    to: /cache
git:
  - url: https://example.invalid/lib.git
    tag: v1.0
    add: /src
    to: /lib
---
image: app
fromArtifact: tools
import:
  - image: base
    stage: install
    add: /etc/os-release
    after: install
`, 'werf.yaml')
    const [base, tools, app] = config.dimgs
    expect(base.fromDimg).toBeUndefined()
    expect([tools.from, tools.fromDimg]).toEqual(['', {name: 'base', isArtifact: false}])
    expect(tools.shell).toMatchObject({buildArtifact: ['make dist'], buildArtifactCacheVersion: '2'})
    expect(tools.mounts).toEqual([{from: 'path', fromPath: '../cache', to: '/cache'}])
    expect(tools.git[0].remote).toEqual({url: 'https://example.invalid/lib.git', tag: 'v1.0'})
    expect(app.fromDimg).toEqual({name: 'tools', isArtifact: true})
    expect(app.imports[0]).toMatchObject({artifact: 'base', fromImage: true, stage: 'install', to: '/etc/os-release', position: 'afterInstall'})
  })
})

describe('names in paths', () => {
  it('keeps names that are path components and slugs the others', () => {
    expect(nameComponent('backend')).toBe('backend')
    expect(nameComponent('my_app.v2')).toBe('my_app.v2')
    expect(nameComponent('Back End/API')).toMatch(/^back-end-api-[0-9a-f]{1,8}$/)
    expect(nameComponent('..')).toMatch(/^[0-9a-f]{1,8}$/)
    expect(nameComponent('Back End/API')).not.toBe(nameComponent('back end api'))
  })

  it('pushes a final image of an odd name under its slug', () => {
    const repo = {registry: 'localhost:5000', path: 'shop'}
    expect(finalImageRepository(repo, 'api').path).toBe('shop/api')
    expect(finalImageRepository(repo, 'Front End').path).toMatch(/^shop\/front-end-[0-9a-f]+$/)
  })
})

describe('docker instructions', () => {
  it('resolves a relative WORKDIR against the one before, as a Dockerfile does', () => {
    expect(applyDockerInstructions({WorkingDir: '/srv'}, {WORKDIR: 'app'}).WorkingDir).toBe('/srv/app')
    expect(applyDockerInstructions({}, {WORKDIR: 'app'}).WorkingDir).toBe('/app')
    expect(applyDockerInstructions({WorkingDir: '/srv'}, {WORKDIR: '/opt'}).WorkingDir).toBe('/opt')
  })

  it('appends ONBUILD triggers to the parent image\'s', () => {
    expect(applyDockerInstructions({OnBuild: ['RUN a']}, {ONBUILD: ['RUN b']}).OnBuild).toEqual(['RUN a', 'RUN b'])
  })
})
