import {readdir, readFile} from 'node:fs/promises'

import {TarWriter} from '../../../src/archive/index.js'
import {useTempDir} from '../../helpers/tmp.js'
import {listTar} from '../../helpers/tar.js'

const tmp = useTempDir('tar-writer', {each: true})

describe('TarWriter', () => {
  it('fails an entry whose content does not match its size (without hanging) and leaves no file', async () => {
    for (const content of ['12345', '123456789012345']) {
      const w = await TarWriter.create(`${tmp.path}/x.tar`)
      const err = await w.addFile('a', 10, Buffer.from(content)).catch(e => e)
      expect(err).toBeInstanceOf(Error)
      await w.abort(err)
      expect(await readdir(tmp.path)).toEqual([])
    }
  })

  it('writes nothing at the path until finished', async () => {
    const w = await TarWriter.create(`${tmp.path}/x.tar`)
    await w.addDirectory('d')
    await w.addFile('d/f', 3, (async function* () { yield Buffer.from('ab'); yield Buffer.from('c') })())
    await w.addSymlink('d/l', 'f')
    expect(await readdir(tmp.path)).not.toContain('x.tar')
    const bytes = await w.finish()
    expect(await readdir(tmp.path)).toEqual(['x.tar'])
    const data = await readFile(`${tmp.path}/x.tar`)
    expect(bytes).toBe(data.length)
    expect((await listTar(data)).map(e => [e.name, e.type, e.size])).toEqual([['d', 'directory', 0], ['d/f', 'file', 3], ['d/l', 'symlink', 0]])
  })
})
