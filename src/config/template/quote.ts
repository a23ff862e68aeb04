/** Go's strconv.Quote and strconv.Unquote, which template names, string literals and %q use. */

const isPrintable = (cp: number): boolean =>
  !(cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp === 0xad || (cp >= 0xd800 && cp < 0xe000) ||
    cp === 0xfffe || cp === 0xffff || /^[\p{Cf}\p{Zl}\p{Zp}\p{Cn}]$/u.test(String.fromCodePoint(cp))) ||
  cp === 0x20

export function goQuote(s: string, quote = '"', asciiOnly = false): string {
  let out = quote
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (ch === quote || ch === '\\') out += `\\${ch}`
    else if (isPrintable(cp) && !(asciiOnly && cp > 0x7e)) out += ch
    else if (ch === '\x07') out += '\\a'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\f') out += '\\f'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\v') out += '\\v'
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`
    else out += `\\U${cp.toString(16).padStart(8, '0')}`
  }
  return out + quote
}

const SIMPLE: Record<string, string> = {a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\'}

/** strconv.Unquote of a "…", `…` or '…' literal; null where Go says "invalid syntax". */
export function goUnquote(s: string): string | null {
  if (s.length < 2) return null
  const q = s[0]
  if (q !== s[s.length - 1]) return null
  const body = s.slice(1, -1)
  if (q === '`') return body.includes('`') ? null : body.replace(/\r/g, '')
  if (q !== '"' && q !== "'") return null
  let out = ''
  for (let i = 0; i < body.length; ) {
    const c = body[i]
    if (c === q || c === '\n') return null
    if (c !== '\\') {
      out += c
      i++
      continue
    }
    const e = body[i + 1]
    if (e === undefined) return null
    if (e in SIMPLE) {
      out += SIMPLE[e]
      i += 2
    } else if (e === q) {
      out += q
      i += 2
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8
      const hex = body.slice(i + 2, i + 2 + n)
      if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) return null
      const cp = parseInt(hex, 16)
      if (e !== 'x' && (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))) return null
      out += String.fromCodePoint(cp)
      i += 2 + n
    } else if (e >= '0' && e <= '7') {
      const oct = body.slice(i + 1, i + 4)
      if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) return null
      out += String.fromCodePoint(parseInt(oct, 8))
      i += 4
    } else return null
  }
  if (q === "'" && [...out].length !== 1) return null
  return out
}
