import {mkdir, realpath, symlink} from 'node:fs/promises'
import {join} from 'node:path'

import {hostMountDir} from '../../../src/sandbox/host-mount.js'
import {SlipwayError} from '../../../src/errors.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

describe('hostMountDir (mount: fromPath)', () => {
  let dir: string
  let guarded: {path: string; what: string}[]
  let project: string

  beforeAll(async () => {
    dir = await realpath(await makeTempDir('host-mount'))
    project = join(dir, 'project')
    await mkdir(join(dir, 'home', 'store'), {recursive: true})
    await mkdir(join(dir, 'scratch'), {recursive: true})
    await mkdir(project)
    guarded = [
      {path: join(dir, 'home'), what: 'SLIPWAY_HOME (the stages cache)'},
      {path: join(dir, 'scratch'), what: "slipway's scratch directory (the stage roots)"},
    ]
  })
  afterAll(async () => removeTempDir(dir))

  it('takes absolute paths, and relative ones from the project directory, creating what is missing', async () => {
    expect(await hostMountDir(join(dir, 'shared'), project, guarded)).toBe(join(dir, 'shared'))
    expect(await hostMountDir('../cache/npm', project, guarded)).toBe(join(dir, 'cache', 'npm'))
    expect(await hostMountDir('vendor', project, guarded)).toBe(join(project, 'vendor'))
  })

  it.each([
    ['/', 'SLIPWAY_HOME'],
    ['home', 'SLIPWAY_HOME'],
    ['home/store', 'SLIPWAY_HOME'],
    ['scratch/build-1', 'scratch directory'],
    ['.', 'SLIPWAY_HOME'],
  ])('refuses %s, which exposes %s', async (rel, what) => {
    const path = rel === '/' ? '/' : rel === '.' ? dir : join(dir, rel)
    const err = await hostMountDir(path, project, guarded).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect((err as SlipwayError).message).toContain(what)
    expect((err as SlipwayError).message).toContain(`mount fromPath "${path}"`)
  })

  it('refuses a link to a guarded directory, by where it leads', async () => {
    await symlink(join(dir, 'home', 'store'), join(dir, 'innocent'))
    await expect(hostMountDir(join(dir, 'innocent'), project, guarded)).rejects.toThrow(/mount fromPath ".*innocent" \(.*home\/store\) would give shell stages SLIPWAY_HOME/)
  })
})
