import {gzipSync} from 'node:zlib'

import {filesFromLayers, type LayerToRead} from '../../../src/layer/index.js'
import {tarOf, type TarEntry} from '../../helpers/tar.js'

/** Layers given top first; `opened` records which were read. */
async function layers(...tops: TarEntry[][]): Promise<{list: LayerToRead[]; opened: number[]}> {
  const opened: number[] = []
  const list = await Promise.all(
    tops.map(async (entries, i) => {
      const bytes = i % 2 ? gzipSync(await tarOf(entries)) : await tarOf(entries)
      return {
        label: `layer ${i}`,
        readToEnd: false,
        open: async () => {
          opened.push(i)
          const it = (async function* () {
            yield bytes
          })()
          return Object.assign(it, {destroy: () => {}})
        },
      }
    }),
  )
  return {list, opened}
}

const file = (name: string, content: string): TarEntry => ({header: {name}, content})
const text = (found: Map<string, Buffer | null> | undefined): Record<string, string | null> | undefined =>
  found && Object.fromEntries([...found].map(([k, v]) => [k, v?.toString('utf8') ?? null]))
const WANT = ['etc/passwd', 'etc/group']

describe('files read from layers, topmost first', () => {
  it('takes each file from the topmost layer that has it and never opens the layers below', async () => {
    const {list, opened} = await layers([file('app/x', 'x')], [file('./etc/passwd', 'new'), file('etc/group', 'g')], [file('etc/passwd', 'old')])
    expect(text(await filesFromLayers(list, WANT))).toEqual({'etc/passwd': 'new', 'etc/group': 'g'})
    expect(opened).toEqual([0, 1])
  })

  it('a whiteout of the file, of /etc, or an opaque /etc hides the lower layers', async () => {
    for (const hiding of ['etc/.wh.passwd', '.wh.etc', 'etc/.wh..wh..opq'].map(name => file(name, ''))) {
      const {list} = await layers([hiding, file('etc/group', 'g')], [file('etc/passwd', 'lower')])
      expect(text(await filesFromLayers(list, WANT))).toEqual({'etc/passwd': null, 'etc/group': 'g'})
    }
  })

  it('a file and its whiteout in the same layer: the file stays (whiteouts apply to lower layers)', async () => {
    const {list} = await layers([file('etc/.wh.passwd', ''), file('etc/passwd', 'same'), file('etc/group', 'g')])
    expect(text(await filesFromLayers(list, WANT))).toEqual({'etc/passwd': 'same', 'etc/group': 'g'})
  })

  it('a symlink is no file to read (never followed); missing everywhere is absent', async () => {
    const {list} = await layers([{header: {name: 'etc/passwd', type: 'symlink', linkname: '/host/passwd'}}])
    expect(text(await filesFromLayers(list, WANT))).toEqual({'etc/passwd': null, 'etc/group': null})
  })

  it('cannot tell for a hard link or an /etc that is not a directory: the image must be unpacked', async () => {
    const link = await layers([file('etc/real', 'r'), {header: {name: 'etc/passwd', type: 'link', linkname: 'etc/real'}}])
    expect(await filesFromLayers(link.list, WANT)).toBeUndefined()
    const symlinked = await layers([{header: {name: 'etc', type: 'symlink', linkname: 'srv'}}], [file('srv/passwd', 'p')])
    expect(await filesFromLayers(symlinked.list, WANT)).toBeUndefined()
  })
})
