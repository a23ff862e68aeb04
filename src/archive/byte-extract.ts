/** Tar entries read byte for byte, for layers: names and PAX values that are not UTF-8 (oci/file-names.ts) and
 *  binary xattrs such as `security.capability` come through unchanged. */
import {extract as tarExtract, type Extract, type Header} from 'tar-stream'

import {nameFromBytes} from '../oci/file-names.js'

/** A header as byteExtract reads it: every string in it is a latin1 string of the raw bytes. */
export type ByteHeader = Header

/** PAX records decoded byte for byte (tar-stream's own decoder reads them as UTF-8 and replaces what is not). */
function decodePaxBytes(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  while (buf.length > 0) {
    const space = buf.indexOf(0x20)
    const len = space > 0 ? parseInt(buf.toString('latin1', 0, space), 10) : NaN
    if (!(len > space) || len > buf.length) break
    const record = buf.toString('latin1', space + 1, len - 1)
    const eq = record.indexOf('=')
    if (eq === -1) break
    out[record.slice(0, eq)] = record.slice(eq + 1)
    buf = buf.subarray(len)
  }
  return out
}

/**
 * tar-stream's extractor, made to keep bytes: header and GNU long names are read as latin1, and PAX records
 * (GNU tar writes a `path` that is not UTF-8 raw; capability xattrs are binary) by decodePaxBytes instead of
 * its UTF-8 decoder, through the one method it has for long headers. Every string in a header is then a
 * latin1 string of the raw bytes; `nameOf` turns a name into the build's representation.
 */
export function byteExtract(): Extract {
  const ex = tarExtract({filenameEncoding: 'latin1'} as Parameters<typeof tarExtract>[0]) // not in tar-stream's types
  const internals = ex as unknown as {
    _header: {type: string}
    _pax: Record<string, string> | null
    _paxGlobal: Record<string, string> | null
    _decodeLongHeader(buf: Buffer): void
  }
  const decodeOther = internals._decodeLongHeader.bind(ex)
  internals._decodeLongHeader = (buf: Buffer): void => {
    if (internals._header.type === 'pax-global-header') internals._paxGlobal = decodePaxBytes(buf)
    else if (internals._header.type === 'pax-header') internals._pax = {...internals._paxGlobal, ...decodePaxBytes(buf)}
    else decodeOther(buf)
  }
  return ex
}

/** An entry's name as read (tar-stream decodes it as latin1): its bytes, as a path string. */
export function nameOf(latin1: string): string {
  return nameFromBytes(Buffer.from(latin1, 'latin1'))
}
