import {loadProject, planProject} from '../../../src/project/index.js'
import {formatStagesListing, GitFixture} from './support.js'

/**
 * Pinned values: the same config in the same repository (fixed author, dates and content, so fixed commit
 * ids) must give these signatures in every process, on every machine, with every Node version. A change
 * here means every user's stages cache is invalidated: bump CACHE_VERSION deliberately instead.
 */
const DAPPFILE = `dimg: backend
from: registry.example/base/node:20
git:
  - add: /
    to: /app
    excludePaths: [dappfile.yaml]
    stageDependencies:
      install: [package.json]
shell:
  beforeInstall: [apk add --no-cache git]
  install: [cd /app && npm ci]
  setup: [cd /app && npm run build]
import:
  - artifact: assets
    add: /out
    to: /app/public
    after: setup
docker:
  WORKDIR: /app
  ENV: {NODE_ENV: production}
  EXPOSE: ["3000"]
  CMD: ["node", "server.js"]
---
artifact: assets
from: registry.example/base/node:20
git: [{add: /web, to: /src}]
shell:
  install: [cd /src && npm ci && npm run build -- --out /out]
`

describe('golden signatures', () => {
  let repo: GitFixture
  beforeAll(() => {
    repo = new GitFixture('golden')
    repo.commit('initial', {'dappfile.yaml': DAPPFILE, 'package.json': '{"name":"backend"}\n', 'server.js': 'console.log(1)\n', 'web/index.html': '<p>hi</p>\n'})
  })
  afterAll(() => repo.remove())

  it('are pinned', async () => {
    expect(repo.git('rev-parse', 'HEAD')).toBe('2a7aa1aef51f4363332d2ceeece674b06639e7cf')
    const plan = await planProject(await loadProject(repo.dir))
    expect(formatStagesListing(plan, 'localhost:5000/test')).toBe(GOLDEN_LISTING)
    const dev = await planProject(await loadProject(repo.dir, {dev: true}))
    expect(dev.dimgs.map((d) => d.lastSignature)).toEqual(GOLDEN_DEV)
  })
})

const GOLDEN_LISTING = `assets
  localhost:5000/test:dimgstage-ae778bc98462ef93acd686c68ca685a32fe66c2f7563e46348d0be97bd4a6364
  localhost:5000/test:dimgstage-2f1a4217da728c7680daca41826f15dfd4f60e7a02ee36264c23869c8c688cd6
  localhost:5000/test:dimgstage-254af4e4e60b10f382aa07a640811f46bb7ee4f91c138cfb40b6e4d0a1bcd8c6
backend
  localhost:5000/test:dimgstage-ae778bc98462ef93acd686c68ca685a32fe66c2f7563e46348d0be97bd4a6364
  localhost:5000/test:dimgstage-1f4013a349aa0e93eb8d3b6dee2e3043ac8e8c43c3b11c6401800a19550635df
  localhost:5000/test:dimgstage-05a5135048a27c352808a51441caa246a209764b4979a0a4df9f2bb98d7488d7
  localhost:5000/test:dimgstage-15e0bd3641b78f3db1c5f5ddb1bee8fe9db244cc2d7280cc3c6a711499f7b2de
  localhost:5000/test:dimgstage-7baac71ebf689568d4bccd97fd486aee314a1e77489e75f6a063443ccf8e85d0
  localhost:5000/test:dimgstage-73461106e3e668b85a0e0a7284e4d87a0b0a969fdc01001d7d4a41a2c5e6d4d9
  localhost:5000/test:dimgstage-d75b720908826b7dd216f44d30ea2ea69e1d8200445ecd963f4b85b09759644e
`
const GOLDEN_DEV = [
  'd45635b978f7c110dc4a0f2a75ef760fa0a46cd6df39aebab897711fc07d33f4',
  'db401356d0a89d3a2fc1f2bbfb3ed7a972341343a56e3978d464054e7f88943c',
]
