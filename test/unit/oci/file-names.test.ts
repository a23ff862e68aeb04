import {fsPath, hasRawBytes, nameFromBytes, nameToBytes} from '../../../src/oci/file-names.js'
import {encodeTarHeader} from '../../../src/layer/tar-header.js'

describe('file names as bytes', () => {
  it('maps every byte string to one string and back', () => {
    const samples = [Buffer.from([0xff, 0xfe]), Buffer.from('café/😀/\u{1F080}'), Buffer.from([0x61, 0xed, 0xb2, 0x80, 0x62]), Buffer.from([0xc3]), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from([...Array(256).keys()].slice(1))]
    for (const bytes of samples) expect(nameToBytes(nameFromBytes(bytes))).toEqual(bytes)
  })

  it('leaves UTF-8 names as their ordinary strings, and only raw bytes escaped', () => {
    expect(nameFromBytes(Buffer.from('café/😀/\u{1F080}'))).toBe('café/😀/\u{1F080}')
    expect(hasRawBytes('café/\u{1F080}')).toBe(false) // its low surrogate is U+DC80, but paired
    expect(nameFromBytes(Buffer.from([0x61, 0xff]))).toBe('a\udcff')
    expect(fsPath('a\udcff')).toEqual(Buffer.from([0x61, 0xff]))
    expect(fsPath('café')).toBe('café')
  })

  it('writes a raw name into the ustar header, and a long one into a GNU long-name record', () => {
    const base = {type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0}
    const short = encodeTarHeader({...base, path: 'a\udcff'})
    expect(short).toHaveLength(512)
    expect(short.subarray(0, 3)).toEqual(Buffer.from([0x61, 0xff, 0]))
    const long = `${'n'.repeat(150)}\udcff`
    const blocks = encodeTarHeader({...base, path: long, type: 'symlink', linkTarget: `t\udcfe`})
    expect(blocks.subarray(0, 13).toString('latin1')).toBe('././@LongLink')
    expect(String.fromCharCode(blocks[156]!)).toBe('L')
    expect(blocks.subarray(512, 512 + 152)).toEqual(Buffer.concat([nameToBytes(long), Buffer.alloc(1)]))
    expect(blocks.subarray(blocks.length - 512 + 157, blocks.length - 512 + 160)).toEqual(Buffer.from([0x74, 0xfe, 0]))
  })
})
