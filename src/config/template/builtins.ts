/** text/template's builtin functions (funcs.go, Go 1.19): and, or, not, len, index, slice, eq/ne/lt/le/gt/ge,
 *  print/printf/println, html, js, urlquery, call. */
import type {GoFunction} from './exec.js'
import {formatValue, sprint, sprintf, sprintln} from './format.js'
import {GoError, isMap, isTrue, typeName, type Value} from './values.js'

type Kind = 'bool' | 'int' | 'float' | 'string' | 'invalid'
const basicKind = (v: Value): Kind =>
  typeof v === 'boolean' ? 'bool' : typeof v === 'bigint' ? 'int' : typeof v === 'number' ? 'float'
    : typeof v === 'string' ? 'string' : 'invalid'

function eq(a: Value, ...rest: Value[]): boolean {
  if (rest.length === 0) throw new GoError('missing argument for comparison')
  const k1 = basicKind(a)
  for (const b of rest) {
    const k2 = basicKind(b)
    let truth = false
    if (k1 !== k2) {
      if (a !== undefined && b !== undefined) throw new GoError('incompatible types for comparison')
    } else if (k1 !== 'invalid') truth = a === b
    else {
      const aNil = a === null || a === undefined
      const bNil = b === null || b === undefined
      if (aNil || bNil) truth = aNil === bNil
      else throw new GoError(`non-comparable types ${formatValue(a)}: ${typeName(a)}, ${typeName(b)}: ${formatValue(b)}`)
    }
    if (truth) return true
  }
  return false
}

function lt(a: Value, b: Value): boolean {
  const k1 = basicKind(a)
  const k2 = basicKind(b)
  if (k1 === 'invalid' || k2 === 'invalid') throw new GoError('invalid type for comparison')
  if (k1 !== k2) throw new GoError('incompatible types for comparison')
  if (k1 === 'bool') throw new GoError('invalid type for comparison')
  if (k1 === 'string') return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string)) < 0
  return (a as number) < (b as number)
}

function indexArg(i: Value, cap: number): number {
  if (typeof i !== 'bigint') {
    if (i === undefined || i === null) throw new GoError('cannot index slice/array with nil')
    throw new GoError(`cannot index slice/array with type ${typeName(i)}`)
  }
  if (i < 0n || i > BigInt(cap)) throw new GoError(`index out of range: ${i}`)
  return Number(i)
}

function index(item: Value, ...indexes: Value[]): Value {
  if (item === undefined || item === null) throw new GoError('index of untyped nil')
  let cur: Value = item
  for (const i of indexes) {
    if (cur === null || cur === undefined) throw new GoError('index of nil pointer')
    if (Array.isArray(cur) || typeof cur === 'string') {
      const x = indexArg(i, cur.length)
      if (x === cur.length) throw new GoError(`index out of range: ${x}`)
      cur = typeof cur === 'string' ? BigInt(Buffer.from(cur)[x]) : cur[x]
    } else if (isMap(cur)) {
      if (typeof i !== 'string') {
        if (i === undefined || i === null) throw new GoError('value is nil; should be of type string')
        throw new GoError(`value has type ${typeName(i)}; should be string`)
      }
      cur = Object.prototype.hasOwnProperty.call(cur, i) ? cur[i] : null
    } else throw new GoError(`can't index item of type ${typeName(cur)}`)
  }
  return cur
}

function slice(item: Value, ...indexes: Value[]): Value {
  if (item === undefined || item === null) throw new GoError('slice of untyped nil')
  if (indexes.length > 3) throw new GoError(`too many slice indexes: ${indexes.length}`)
  if (typeof item !== 'string' && !Array.isArray(item)) throw new GoError(`can't slice item of type ${typeName(item)}`)
  if (typeof item === 'string' && indexes.length === 3) throw new GoError('cannot 3-index slice a string')
  const len = typeof item === 'string' ? Buffer.byteLength(item) : item.length
  const idx = [0, len]
  indexes.forEach((x, i) => (idx[i] = indexArg(x, len)))
  if (idx[0] > idx[1]) throw new GoError(`invalid slice index: ${idx[0]} > ${idx[1]}`)
  if (typeof item === 'string') return Buffer.from(item).subarray(idx[0], idx[1]).toString()
  return item.slice(idx[0], idx[1])
}

function length(item: Value): bigint {
  if (item === null) throw new GoError('len of nil pointer')
  if (typeof item === 'string') return BigInt(Buffer.byteLength(item))
  if (Array.isArray(item)) return BigInt(item.length)
  if (isMap(item)) return BigInt(Object.keys(item).length)
  if (item === undefined) throw new GoError('reflect: call of reflect.Value.Type on zero Value')
  throw new GoError(`len of type ${typeName(item)}`)
}

const evalArgs = (args: Value[]): string =>
  args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args)

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({'\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;'})[c]!)
}

function jsEscape(s: string): string {
  let out = ''
  for (const c of s) {
    const cp = c.codePointAt(0)!
    if (c === '\\') out += '\\\\'
    else if (c === "'") out += "\\'"
    else if (c === '"') out += '\\"'
    else if (c === '<') out += '\\u003C'
    else if (c === '>') out += '\\u003E'
    else if (c === '&') out += '\\u0026'
    else if (c === '=') out += '\\u003D'
    else if (cp < 0x20 || cp === 0x7f) out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`
    else out += c
  }
  return out
}

/** Go's url.QueryEscape. */
function queryEscape(s: string): string {
  return [...Buffer.from(s)].map((b) => {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-_.~]/.test(c)) return c
    if (c === ' ') return '+'
    return `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }).join('')
}

export const BUILTINS: ReadonlyMap<string, GoFunction> = new Map<string, GoFunction>([
  ['and', {params: ['value'], variadic: 'value', call: () => null}],
  ['or', {params: ['value'], variadic: 'value', call: () => null}],
  ['not', {params: ['value'], call: (v) => !isTrue(v)}],
  ['len', {params: ['value'], call: length}],
  ['index', {params: ['value'], variadic: 'value', call: index}],
  ['slice', {params: ['value'], variadic: 'value', call: slice}],
  ['eq', {params: ['value'], variadic: 'value', call: eq}],
  ['ne', {params: ['value', 'value'], call: (a, b) => !eq(a, b)}],
  ['lt', {params: ['value', 'value'], call: lt}],
  ['le', {params: ['value', 'value'], call: (a, b) => lt(a, b) || eq(a, b)}],
  ['gt', {params: ['value', 'value'], call: (a, b) => !lt(a, b) && !eq(a, b)}],
  ['ge', {params: ['value', 'value'], call: (a, b) => !lt(a, b)}],
  ['print', {params: [], variadic: 'any', call: (...a) => sprint(a)}],
  ['printf', {params: ['string'], variadic: 'any', call: (f, ...a) => sprintf(f as string, a)}],
  ['println', {params: [], variadic: 'any', call: (...a) => sprintln(a)}],
  ['html', {params: [], variadic: 'any', call: (...a) => htmlEscape(evalArgs(a))}],
  ['js', {params: [], variadic: 'any', call: (...a) => jsEscape(evalArgs(a))}],
  ['urlquery', {params: [], variadic: 'any', call: (...a) => queryEscape(evalArgs(a))}],
  ['call', {
    params: ['value'], variadic: 'value',
    call: (fn, ...a) => {
      if (typeof fn !== 'function') throw new GoError(`non-function of type ${typeName(fn)}`)
      return fn(...a)
    },
  }],
])

