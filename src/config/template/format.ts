/** Go's fmt for template values: %v printing (Sprint, Sprintln) and Sprintf with its verbs and flags. */
import {goQuote} from './quote.js'
import {isMap, sortedKeys, typeName, type Value} from './values.js'

function exponentForm(digits: string): string {
  // JS gives "1.5e+6"; Go pads the exponent to two digits: "1.5e+06".
  return digits.replace(/e([+-])(\d)$/, 'e$10$2')
}

/** fmt's %v of a float64: the shortest digits, in exponent form when the exponent is < -4 or >= 6
 *  (Go prints 1e+06 where JavaScript prints 1000000). */
export function formatFloatShortest(f: number, expThreshold = 6): string {
  if (Number.isNaN(f)) return 'NaN'
  if (f === Infinity) return '+Inf'
  if (f === -Infinity) return '-Inf'
  if (f === 0) return Object.is(f, -0) ? '-0' : '0'
  const exp = Number(f.toExponential().split('e')[1])
  if (exp < -4 || exp >= expThreshold) return exponentForm(f.toExponential())
  return String(f)
}

/** fmt's %v of a value (nested values included). */
export function formatValue(v: Value): string {
  if (v === undefined || v === null) return '<nil>'
  if (typeof v === 'string') return v
  if (typeof v === 'boolean') return String(v)
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number') return formatFloatShortest(v)
  if (Array.isArray(v)) return `[${v.map((e) => formatValue(e)).join(' ')}]`
  if (typeof v === 'function') return '0x0'
  return `map[${sortedKeys(v).map((k) => `${k}:${formatValue(v[k])}`).join(' ')}]`
}

/** fmt.Sprint: operands are separated by a space when neither side is a string. */
export function sprint(args: Value[]): string {
  let out = ''
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' '
    out += formatValue(a)
  })
  return out
}

export const sprintln = (args: Value[]): string => `${args.map((a) => formatValue(a)).join(' ')}\n`

interface Spec {
  minus: boolean
  plus: boolean
  sharp: boolean
  space: boolean
  zero: boolean
  width?: number
  prec?: number
}

const runeLength = (s: string): number => [...s].length

function pad(s: string, spec: Spec, zeroOK = false): string {
  if (spec.width === undefined || runeLength(s) >= spec.width) return s
  const n = spec.width - runeLength(s)
  if (spec.minus) return s + ' '.repeat(n)
  if (spec.zero && zeroOK) {
    const sign = /^[+\- ]/.test(s) ? s[0] : ''
    return sign + '0'.repeat(n) + s.slice(sign.length)
  }
  return ' '.repeat(n) + s
}

function bad(verb: string, v: Value): string {
  if (v === undefined || v === null) return `%!${verb}(<nil>)`
  return `%!${verb}(${typeName(v)}=${formatValue(v)})`
}

function formatInteger(n: bigint, verb: string, spec: Spec): string | null {
  const neg = n < 0n
  const abs = neg ? -n : n
  let digits: string
  switch (verb) {
    case 'd': case 'v': digits = abs.toString(); break
    case 'x': digits = abs.toString(16); if (spec.sharp) digits = `0x${digits}`; break
    case 'X': digits = abs.toString(16).toUpperCase(); if (spec.sharp) digits = `0X${digits}`; break
    case 'o': digits = abs.toString(8); if (spec.sharp) digits = `0${digits}`; break
    case 'O': digits = `0o${abs.toString(8)}`; break
    case 'b': digits = abs.toString(2); break
    case 'c': return String.fromCodePoint(Number(n))
    case 'q': return goQuote(String.fromCodePoint(Number(n)), "'")
    case 'U': return `U+${abs.toString(16).toUpperCase().padStart(4, '0')}`
    default: return null
  }
  if (spec.prec !== undefined) digits = digits.padStart(spec.prec, '0')
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : ''
  return pad(sign + digits, spec, spec.prec === undefined)
}

/** %.Nf as Go rounds: on the exact decimal value of the double, ties to even (JavaScript's toFixed
 *  rounds ties up: 2.5 -> "3" where Go prints "2"). */
function toFixedHalfEven(f: number, prec: number): string {
  if (f >= 1e21 || prec > 60) return f.toFixed(Math.min(prec, 100))
  const exact = f.toFixed(100)
  const point = exact.indexOf('.')
  const kept = exact.slice(0, point + 1 + prec).replace(/\.$/, '')
  const rest = exact.slice(point + 1 + prec)
  const tie = /^50*$/.test(rest)
  const last = kept.replace('.', '').slice(-1)
  const up = rest[0] > '5' || (rest[0] === '5' && (!tie || Number(last) % 2 === 1))
  if (!up) return kept
  const digits = (BigInt(kept.replace('.', '')) + 1n).toString().padStart(kept.replace('.', '').length, '0')
  return prec === 0 ? digits : `${digits.slice(0, -prec)}.${digits.slice(-prec)}`
}

function formatFloat(f: number, verb: string, spec: Spec): string | null {
  let s: string
  if (!Number.isFinite(f)) s = Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'
  else {
    switch (verb) {
      case 'v': case 'g': case 'G':
        if (spec.prec === undefined) s = formatFloatShortest(Math.abs(f))
        else {
          const p = spec.prec === 0 ? 1 : spec.prec
          const exp = Number(Math.abs(f).toExponential(p - 1).split('e')[1])
          s = exp < -4 || exp >= p
            ? exponentForm(Math.abs(f).toExponential(p - 1).replace(/\.?0+e/, 'e'))
            : String(Number(Math.abs(f).toPrecision(p)))
        }
        if (verb === 'G') s = s.toUpperCase()
        break
      case 'f': case 'F': s = toFixedHalfEven(Math.abs(f), spec.prec ?? 6); break
      case 'e': case 'E':
        s = exponentForm(Math.abs(f).toExponential(spec.prec ?? 6))
        if (verb === 'E') s = s.toUpperCase()
        break
      default: return null
    }
    if (f < 0 || Object.is(f, -0)) s = `-${s}`
  }
  if (!s.startsWith('-') && (spec.plus || spec.space) && !s.startsWith('+')) s = (spec.plus ? '+' : ' ') + s
  return pad(s, spec, Number.isFinite(f))
}

function formatString(s: string, verb: string, spec: Spec): string | null {
  switch (verb) {
    case 's': case 'v':
      return pad(spec.prec === undefined ? s : [...s].slice(0, spec.prec).join(''), spec)
    case 'q': return pad(spec.sharp && !s.includes('`') ? `\`${s}\`` : goQuote(s, '"', spec.plus), spec)
    case 'x': case 'X': {
      let hex = Buffer.from(s).toString('hex')
      if (verb === 'X') hex = hex.toUpperCase()
      return pad(hex, spec)
    }
    default: return null
  }
}

function formatOne(v: Value, verb: string, spec: Spec): string {
  if (v === undefined || v === null) {
    return verb === 'v' ? pad('<nil>', spec) : bad(verb, v)
  }
  if (typeof v === 'string') return formatString(v, verb, spec) ?? bad(verb, v)
  if (typeof v === 'bigint') return formatInteger(v, verb, spec) ?? bad(verb, v)
  if (typeof v === 'number') return formatFloat(v, verb, spec) ?? bad(verb, v)
  if (typeof v === 'boolean') return verb === 't' || verb === 'v' ? pad(String(v), spec) : bad(verb, v)
  if (Array.isArray(v)) return `[${v.map((e) => formatOne(e, verb, spec)).join(' ')}]`
  if (isMap(v)) return `map[${sortedKeys(v).map((k) => `${formatOne(k, verb, spec)}:${formatOne(v[k], verb, spec)}`).join(' ')}]`
  return pad(formatValue(v), spec)
}

/** fmt.Sprintf with Go's verbs, flags, width and precision, and its %!verb(…) notes for bad arguments. */
export function sprintf(format: string, args: Value[]): string {
  let out = ''
  let argIndex = 0
  let i = 0
  const nextNumber = (): number | undefined => {
    if (format[i] === '*') {
      i++
      const a = args[argIndex++]
      return typeof a === 'bigint' ? Number(a) : undefined
    }
    const start = i
    while (i < format.length && format[i] >= '0' && format[i] <= '9') i++
    return i > start ? Number(format.slice(start, i)) : undefined
  }
  while (i < format.length) {
    const c = format[i]
    if (c !== '%') {
      out += c
      i++
      continue
    }
    i++
    const spec: Spec = {minus: false, plus: false, sharp: false, space: false, zero: false}
    for (; i < format.length; i++) {
      const f = format[i]
      if (f === '-') { spec.minus = true; spec.zero = false }
      else if (f === '+') spec.plus = true
      else if (f === '#') spec.sharp = true
      else if (f === ' ') spec.space = true
      else if (f === '0') spec.zero = !spec.minus
      else break
    }
    spec.width = nextNumber()
    if (format[i] === '.') {
      i++
      spec.prec = nextNumber() ?? 0
    }
    if (i >= format.length) {
      out += '%!(NOVERB)'
      break
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!)
    i += verb.length
    if (verb === '%') {
      out += '%'
      continue
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`
      continue
    }
    const arg = args[argIndex++]
    if (verb === 'T') out += pad(typeName(arg), spec)
    else out += formatOne(arg, verb, spec)
  }
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args.slice(argIndex).map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${formatValue(a)}`)).join(', ')})`
  }
  return out
}
