import {encodeTarHeader, paddingFor} from '../../../src/layer/tar-header.js'

function field(block: Buffer, offset: number, length: number): string {
  return block.subarray(offset, offset + length).toString('latin1').replace(/\0.*$/s, '')
}

function checksumOk(block: Buffer): boolean {
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!
  return parseInt(field(block, 148, 8), 8) === sum
}

const base = {type: 'file' as const, mode: 0o4755, uid: 1000, gid: 1001, size: 5, mtime: 1_700_000_000}

describe('encodeTarHeader', () => {
  it('writes a plain ustar header when everything fits', () => {
    const h = encodeTarHeader({...base, path: 'usr/bin/tool'})
    expect(h.length).toBe(512)
    expect(field(h, 0, 100)).toBe('usr/bin/tool')
    expect(field(h, 100, 8)).toBe('004755 ')
    expect(field(h, 108, 8)).toBe('001750 ')
    expect(field(h, 124, 12)).toBe('00000000005 ')
    expect(field(h, 136, 12)).toBe(`${(1_700_000_000).toString(8)} `)
    expect(field(h, 156, 1)).toBe('0')
    expect(field(h, 257, 6)).toBe('ustar')
    expect(field(h, 265, 32)).toBe('') // uname/gname stay empty
    expect(checksumOk(h)).toBe(true)
  })

  it('marks directories with a trailing slash and splits long names into prefix and name', () => {
    expect(field(encodeTarHeader({...base, type: 'directory', size: 0, path: 'etc'}), 0, 100)).toBe('etc/')
    const long = `${'d'.repeat(80)}/${'e'.repeat(60)}/file`
    const h = encodeTarHeader({...base, path: long})
    expect(h.length).toBe(512)
    expect(field(h, 345, 155)).toBe('d'.repeat(80))
    expect(field(h, 0, 100)).toBe(`${'e'.repeat(60)}/file`)
  })

  it('adds a PAX header only for what ustar cannot hold, with binary xattr values byte for byte', () => {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0xff, 0x00, 0x00])
    const h = encodeTarHeader({...base, path: 'é/' + 'x'.repeat(120), uid: 5_000_000, xattrs: {'security.capability': cap}})
    expect(field(h, 156, 1)).toBe('x')
    const size = parseInt(field(h, 124, 12), 8)
    const data = h.subarray(512, 512 + size)
    const records = data.toString('latin1')
    expect(records).toContain(` path=${Buffer.from('é/' + 'x'.repeat(120)).toString('latin1')}\n`)
    expect(records).toContain(' uid=5000000\n')
    const key = Buffer.from(' SCHILY.xattr.security.capability=')
    const at = data.indexOf(key)
    expect(data.subarray(at + key.length, at + key.length + cap.length)).toEqual(cap)
    // every record's length prefix counts its own bytes
    let off = 0
    while (off < data.length) {
      const len = parseInt(data.subarray(off, data.indexOf(0x20, off)).toString(), 10)
      expect(data[off + len - 1]).toBe(0x0a)
      off += len
    }
    const main = h.subarray(512 + size + paddingFor(size))
    expect(main.length).toBe(512)
    expect(field(main, 156, 1)).toBe('0')
    expect(checksumOk(main)).toBe(true)
  })

  it('is a pure function of its input', () => {
    const entry = {...base, path: 'a/b', xattrs: {'security.capability': Buffer.from([1, 2, 3])}}
    expect(encodeTarHeader(entry).equals(encodeTarHeader({...entry}))).toBe(true)
  })
})
