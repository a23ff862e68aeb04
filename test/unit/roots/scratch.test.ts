import {readdir} from 'node:fs/promises'

import {makeScratchDir, scratchBase} from '../../../src/roots/scratch.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

describe('makeScratchDir', () => {
  it('runs that make and remove their directories at the same time never lose one to another removing the area', async () => {
    const tmpdir = await makeTempDir('tmpdir')
    const env = {SLIPWAY_TMPDIR: tmpdir}
    try {
      // each remove() takes the area away when it looks empty, while others are between their check and mkdtemp
      await Promise.all(
        Array.from({length: 16}, async (_, i) => {
          for (let n = 0; n < 25; n++) {
            const dir = await makeScratchDir('/some/home', `w${i}`, env)
            expect(await readdir(dir.path)).toEqual([])
            await dir.remove()
          }
        }),
      )
      expect(await readdir(tmpdir)).toEqual([])
      await expect(readdir(scratchBase('/some/home', env))).rejects.toThrow(/ENOENT/)
    } finally {
      await removeTempDir(tmpdir)
    }
  })
})
