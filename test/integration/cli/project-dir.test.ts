/** A --dir that is missing or is a file: one line saying so, exit 2 (before, a missing one read as "the
 *  git command was not found", exit 10, and a file as an internal error). */
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {freshHome, runSlipway} from '../../helpers/cli.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

describe('the project directory', () => {
  let dir: string
  let home: string
  beforeAll(async () => {
    dir = await makeTempDir('slipway-project-dir-')
    home = freshHome()
    await writeFile(join(dir, 'a-file'), 'not a project\n')
  })
  afterAll(async () => {
    await removeTempDir(dir)
    await removeTempDir(home)
  })

  it.each([
    [['dimg', 'build'], 'missing', 'does not exist'],
    [['dimg', 'stages', 'list', 'local'], 'missing', 'does not exist'],
    [['dimg', 'build'], 'a-file', 'is not a directory'],
    [['dimg', 'stages', 'push', 'localhost:5000/x', '--dry-run'], 'a-file/below', 'does not exist'],
  ])('%j --dir %s: exit 2, one line that says the directory %s', async (args, name, says) => {
    const path = join(dir, name)
    const r = await runSlipway([...args, '--dir', path], {env: {SLIPWAY_HOME: home}})
    expect({code: r.code, stderr: r.stderr, stdout: r.stdout}).toEqual({
      code: 2,
      stderr: `slipway: the project directory ${path} ${says}: pass --dir DIR naming the directory that holds dappfile.yaml or werf.yaml\n`,
      stdout: '',
    })
  })
})
