/** Deterministic tar header encoding (ustar, plus a PAX extended header only when a field does not fit).
 *  Written here rather than through tar-stream's packer because PAX values such as
 *  `SCHILY.xattr.security.capability` are binary and must be written byte for byte, and so are names that
 *  are not UTF-8 (oci/file-names.ts): PAX `path`/`linkpath` records must be UTF-8, so such a name goes raw
 *  into the ustar fields, or into a GNU long-name (`L`/`K`) record when it does not fit, as GNU tar writes it. */
import {hasRawBytes, nameToBytes} from '../oci/file-names.js'

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo'

export interface TarHeader {
  path: string // relative, no trailing slash
  type: TarEntryType
  mode: number // permission bits incl. setuid/setgid/sticky
  uid: number
  gid: number
  size: number // content bytes (files only)
  mtime: number // whole seconds
  linkTarget?: string
  devmajor?: number
  devminor?: number
  xattrs?: Record<string, Buffer>
}

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0', link: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6',
}
const OCTAL_LIMIT = {6: 0o777777, 11: 0o77777777777}

export const BLOCK = 512

export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK
}

function writeOctal(buf: Buffer, value: number, offset: number, digits: 6 | 11): void {
  buf.write(value.toString(8).padStart(digits, '0') + ' ', offset, 'ascii')
}

function isAscii(s: string): boolean {
  return /^[\x01-\x7f]*$/.test(s)
}

interface UstarName {
  prefix: Buffer
  name: Buffer
}

/** Splits a name's bytes into ustar prefix/name, or returns null when they do not fit. */
function splitUstarName(name: Buffer): UstarName | null {
  if (name.length <= 100) return {prefix: Buffer.alloc(0), name}
  for (let i = name.indexOf(0x2f); i !== -1; i = name.indexOf(0x2f, i + 1)) {
    if (i > 155) return null
    const rest = name.subarray(i + 1)
    if (rest.length <= 100 && rest.length > 0) return {prefix: name.subarray(0, i), name: rest}
  }
  return null
}

/** A GNU long-name record (`././@LongLink`, type L for a path, K for a link target): header + NUL-ended data. */
function gnuLongName(h: TarHeader, typeflag: 'L' | 'K', value: Buffer): Buffer {
  const data = Buffer.concat([value, Buffer.alloc(1)])
  const header = ustarBlock({...h, mode: 0o644, uid: 0, gid: 0, mtime: 0, devmajor: 0, devminor: 0}, ascii('././@LongLink'), Buffer.alloc(0), data.length, typeflag)
  return Buffer.concat([header, data, Buffer.alloc(paddingFor(data.length))])
}

function ascii(s: string): UstarName {
  return {prefix: Buffer.alloc(0), name: Buffer.from(s, 'latin1')}
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')])
  let len = body.length + 1
  while (String(len).length + body.length !== len) len = String(len).length + body.length
  return Buffer.concat([Buffer.from(String(len)), body])
}

function ustarBlock(h: TarHeader, name: UstarName, linkTarget: Buffer, size: number, typeflag: string): Buffer {
  const buf = Buffer.alloc(BLOCK)
  name.name.copy(buf, 0, 0, 100)
  writeOctal(buf, h.mode & 0o7777, 100, 6)
  writeOctal(buf, Math.min(h.uid, OCTAL_LIMIT[6]), 108, 6)
  writeOctal(buf, Math.min(h.gid, OCTAL_LIMIT[6]), 116, 6)
  writeOctal(buf, Math.min(size, OCTAL_LIMIT[11]), 124, 11)
  writeOctal(buf, Math.min(Math.max(h.mtime, 0), OCTAL_LIMIT[11]), 136, 11)
  buf.fill(' ', 148, 156)
  buf.write(typeflag, 156, 'ascii')
  linkTarget.copy(buf, 157, 0, 100)
  buf.write('ustar\x0000', 257, 'binary')
  writeOctal(buf, h.devmajor ?? 0, 329, 6)
  writeOctal(buf, h.devminor ?? 0, 337, 6)
  name.prefix.copy(buf, 345, 0, 155)
  let sum = 0
  for (const b of buf) sum += b
  buf.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
  return buf
}

/** The header block(s) for one entry: [PAX header + PAX data +] ustar header. */
export function encodeTarHeader(h: TarHeader): Buffer {
  const entryName = h.type === 'directory' ? `${h.path}/` : h.path
  const linkTarget = h.linkTarget ?? ''
  const records: Buffer[] = []
  const longNames: Buffer[] = []
  const nameBytes = nameToBytes(entryName)
  let name = isAscii(entryName) || hasRawBytes(entryName) ? splitUstarName(nameBytes) : null
  if (name === null && hasRawBytes(entryName)) {
    longNames.push(gnuLongName(h, 'L', nameBytes))
    name = {prefix: Buffer.alloc(0), name: nameBytes.subarray(0, 100)}
  } else if (name === null) {
    records.push(paxRecord('path', nameBytes))
    name = ascii(asciiFallback(entryName))
  }
  const linkBytes = nameToBytes(linkTarget)
  let headerLink = linkBytes
  if (hasRawBytes(linkTarget) && linkBytes.length > 100) {
    longNames.push(gnuLongName(h, 'K', linkBytes))
    headerLink = linkBytes.subarray(0, 100)
  } else if (!hasRawBytes(linkTarget) && (!isAscii(linkTarget) || linkTarget.length > 100)) {
    records.push(paxRecord('linkpath', linkBytes))
    headerLink = Buffer.from(asciiFallback(linkTarget), 'latin1')
  }
  if (h.uid > OCTAL_LIMIT[6]) records.push(paxRecord('uid', Buffer.from(String(h.uid))))
  if (h.gid > OCTAL_LIMIT[6]) records.push(paxRecord('gid', Buffer.from(String(h.gid))))
  if (h.size > OCTAL_LIMIT[11]) records.push(paxRecord('size', Buffer.from(String(h.size))))
  for (const key of Object.keys(h.xattrs ?? {}).sort()) records.push(paxRecord(`SCHILY.xattr.${key}`, h.xattrs![key]!))
  records.sort((a, b) => paxKey(a).localeCompare(paxKey(b)))

  const main = ustarBlock(h, name, headerLink, h.size, TYPEFLAG[h.type])
  if (records.length === 0) return Buffer.concat([...longNames, main])
  const data = Buffer.concat(records)
  const paxName = ascii(`PaxHeaders/${asciiFallback(posixBase(h.path))}`.slice(0, 100))
  const paxHeader = ustarBlock({...h, mode: 0o644, uid: 0, gid: 0, mtime: h.mtime, devmajor: 0, devminor: 0}, paxName, Buffer.alloc(0), data.length, 'x')
  return Buffer.concat([...longNames, paxHeader, data, Buffer.alloc(paddingFor(data.length)), main])
}

function paxKey(record: Buffer): string {
  const s = record.toString('latin1')
  return s.slice(s.indexOf(' ') + 1, s.indexOf('='))
}

function posixBase(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1)
}

function asciiFallback(s: string): string {
  return s.replace(/[^\x01-\x7f]/g, '_').slice(-100)
}

export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2)
