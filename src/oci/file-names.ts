/**
 * File names are bytes (in tar headers, git trees and Linux directories), not necessarily UTF-8. Slipway
 * carries them as JS strings in which each byte that is not part of valid UTF-8 stands as a lone surrogate
 * U+DC80–U+DCFF, as Python's "surrogateescape" does: a UTF-8 name (nearly every name) is its ordinary
 * string, so globs, messages and sort order are unchanged, and every byte string maps to exactly one
 * string and back. Bytes become strings with `nameFromBytes` where they are read (tar, git, readdir) and
 * strings become bytes with `nameToBytes`/`fsPath` where they are written (tar headers, fs calls).
 */
import {isUtf8} from 'node:buffer'

const ESCAPED = /[\uDC80-\uDCFF]/u // only lone surrogates match with the u flag

/** Whether the name holds bytes that are not UTF-8 (so Node's own string encoding would mangle it). */
export function hasRawBytes(name: string): boolean {
  return ESCAPED.test(name)
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i]!
  if (c < 0x80) return 1
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0
  if (c >= 0xe0 && c <= 0xef) {
    const [lo, hi] = c === 0xe0 ? [0xa0, 0xbf] : c === 0xed ? [0x80, 0x9f] : [0x80, 0xbf] // no overlongs, no surrogates
    return cont(1, lo, hi) && cont(2) ? 3 : 0
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const [lo, hi] = c === 0xf0 ? [0x90, 0xbf] : c === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf]
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0
  }
  return 0
}

export function nameFromBytes(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8')
  let out = ''
  for (let i = 0; i < bytes.length;) {
    const n = sequenceLength(bytes, i)
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + bytes[i]!)
      i++
    } else {
      out += bytes.toString('utf8', i, i + n)
      i += n
    }
  }
  return out
}

export function nameToBytes(name: string): Buffer {
  if (!hasRawBytes(name)) return Buffer.from(name, 'utf8')
  const parts: Buffer[] = []
  for (const ch of name) {
    const cp = ch.codePointAt(0)!
    parts.push(cp >= 0xdc80 && cp <= 0xdcff ? Buffer.from([cp - 0xdc00]) : Buffer.from(ch, 'utf8'))
  }
  return Buffer.concat(parts)
}

/** The path as Node's fs functions must be given it: the string itself when it is UTF-8, else its bytes. */
export function fsPath(path: string): string | Buffer {
  return hasRawBytes(path) ? nameToBytes(path) : path
}
