import {parseDappfile, formatKeyPath} from '../../../src/config/load.js'
import {repositoryNameOfUrl} from '../../../src/config/project-name.js'
import {closestKey} from '../../../src/config/suggest.js'

const FULL = `dimg: backend
from: registry.example/base/node:20
fromCacheVersion: 3
git:
  - add: /
    to: /app
    excludePaths: test
    owner: 1000
    stageDependencies:
      install: [package.json, package-lock.json]
      setup: src
shell:
  beforeInstall: apk add --no-cache git
  install: [cd /app && npm ci]
  setup: [cd /app && npm run build]
  cacheVersion: 2
  installCacheVersion: a
import:
  - artifact: assets
    add: /out
    to: /app/public
    after: setup
  - artifact: assets
    add: /bin/tool
    before: install
docker:
  WORKDIR: /app
  ENV: {NODE_ENV: production, PORT: 3000}
  EXPOSE: ["3000", 9090]
  CMD: ["node", "server.js"]
  VOLUME: /data
  HEALTHCHECK: CMD wget -q localhost:3000
mount:
  - from: build_dir
    to: /root/.npm
---
artifact: assets
from: registry.example/base/node:20
fromLatest: true
git: [{add: /web, to: /src}]
shell:
  install: [cd /src && npm ci && npm run build -- --out /out]
`

describe('parseDappfile', () => {
  it('normalises every shorthand into the typed config', () => {
    const config = parseDappfile(FULL, 'dappfile.yaml', '/p/dappfile.yaml')
    expect(config.file).toBe('/p/dappfile.yaml')
    expect(config.dimgs.map((d) => [d.name, d.isArtifact])).toEqual([
      ['backend', false],
      ['assets', true],
    ])
    const [backend, assets] = config.dimgs
    expect(backend.fromCacheVersion).toBe('3')
    expect(backend.fromLatest).toBe(false)
    expect(backend.git).toEqual([
      {add: '/', to: '/app', includePaths: [], excludePaths: ['test'], owner: '1000', stageDependencies: {install: ['package.json', 'package-lock.json'], setup: ['src']}},
    ])
    expect(backend.shell).toEqual({
      commands: {beforeInstall: ['apk add --no-cache git'], install: ['cd /app && npm ci'], beforeSetup: [], setup: ['cd /app && npm run build']},
      cacheVersion: '2',
      stageCacheVersion: {install: 'a'},
    })
    expect(backend.imports).toEqual([
      {artifact: 'assets', add: '/out', to: '/app/public', includePaths: [], excludePaths: [], position: 'afterSetup'},
      {artifact: 'assets', add: '/bin/tool', to: '/bin/tool', includePaths: [], excludePaths: [], position: 'beforeInstall'},
    ])
    expect(backend.docker).toEqual({
      WORKDIR: '/app',
      ENV: {NODE_ENV: 'production', PORT: '3000'},
      EXPOSE: ['3000', '9090'],
      CMD: ['node', 'server.js'],
      VOLUME: ['/data'],
      HEALTHCHECK: {test: 'CMD wget -q localhost:3000'},
    })
    expect(backend.mounts).toEqual([{from: 'build_dir', to: '/root/.npm'}])
    expect(assets.fromLatest).toBe(true)
    expect(assets.git[0]).toEqual({add: '/web', to: '/src', includePaths: [], excludePaths: [], stageDependencies: {}})
  })

  it('reads a single unnamed dimg, `image:` as a synonym, and skips empty documents', () => {
    expect(parseDappfile('from: alpine\n', 'f').dimgs[0].name).toBeNull()
    const config = parseDappfile('---\n---\nimage: web\nfrom: alpine\n---\ndimg: api\nfrom: alpine\n', 'f')
    expect(config.dimgs.map((d) => d.name)).toEqual(['web', 'api'])
  })

  it('reports the first problem in source order', () => {
    expect(() => parseDappfile('from: alpine\nshell: {instal: x}\ndocker: {CMD: 1}\n', 'd.yaml')).toThrow(/^d\.yaml:2:9: dimg › shell › instal: unknown key/)
  })
})

describe('helpers', () => {
  it('suggests close keys only', () => {
    expect(closestKey('instal', ['install', 'setup'])).toBe('install')
    expect(closestKey('beforesetup', ['beforeSetup', 'setup'])).toBe('beforeSetup')
    expect(closestKey('zzz', ['install', 'setup'])).toBeUndefined()
  })

  it('formats key paths', () => {
    expect(formatKeyPath(['git', 0, 'stageDependencies', 'install', 2])).toBe('git[0] › stageDependencies › install[2]')
  })

  it('names a project after its origin URL', () => {
    expect(repositoryNameOfUrl('https://github.com/flant/dapp-example.git')).toBe('dapp-example')
    expect(repositoryNameOfUrl('git@gitlab.example:group/sub/app.git')).toBe('app')
    expect(repositoryNameOfUrl('/srv/git/tool/')).toBe('tool')
    expect(repositoryNameOfUrl('')).toBeUndefined()
  })
})
