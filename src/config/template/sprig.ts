/**
 * The sprig functions (Masterminds/sprig 3.2, TxtFuncMap) that dapp and werf configs use, with sprig's own
 * quirks: `trimAll`/`trimPrefix` take the cutset first, `b64dec` returns the error text, `split` makes
 * a map of _0, _1…, arithmetic is int64.
 */
import {createHash} from 'node:crypto'

import type {GoFunction} from './exec.js'
import {formatValue} from './format.js'
import {goQuote} from './quote.js'
import {GoError, interfaceKeyedMaps, isMap, isTrue, sortedKeys, typeName, type GoMap, type Value} from './values.js'

/** sprig's strval: strings as they are, everything else as fmt's %v. */
export const strval = (v: Value): string => (typeof v === 'string' ? v : formatValue(v))

function empty(v: Value): boolean {
  if (typeof v === 'function') return false
  return !isTrue(v)
}

/** spf13/cast's ToInt64: numbers truncate, strings parse (0x…, 0…), bools are 1/0, anything else 0. */
function toInt64(v: Value): bigint {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n
  if (typeof v === 'boolean') return v ? 1n : 0n
  if (typeof v === 'string') {
    const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(v)
    if (!m) return 0n
    const body = /^0[0-7]+$/.test(m[2]) ? `0o${m[2].slice(1)}` : m[2]
    const n = BigInt(body)
    return m[1] === '-' ? -n : n
  }
  return 0n
}

function toFloat64(v: Value): number {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'string') {
    const f = Number(v)
    return v.trim() === '' || Number.isNaN(f) ? 0 : f
  }
  return 0
}

function list(v: Value, what: string): Value[] {
  if (Array.isArray(v)) return v
  throw new GoError(`Cannot ${what} on type ${typeName(v)}`)
}

function strslice(v: Value): string[] {
  if (Array.isArray(v)) return v.filter((e) => e !== null && e !== undefined).map(strval)
  if (v === null || v === undefined) return []
  return [strval(v)]
}

function deepEqual(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((e, i) => deepEqual(e, b[i]))
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a)
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
  }
  return a === b || ((a === null || a === undefined) && (b === null || b === undefined))
}

/** mergo.Merge without override: keys missing from dst are copied, maps present in both merge deeply. */
function mergeInto(dst: GoMap, src: GoMap): void {
  for (const k of Object.keys(src)) {
    const d = dst[k]
    if (isMap(d) && isMap(src[k])) mergeInto(d, src[k] as GoMap)
    else if (!Object.hasOwn(dst, k) || empty(d)) dst[k] = src[k]
  }
}

/** encoding/json's Marshal: sorted keys, HTML-safe escapes, floats as Go writes them. */
export function toJson(v: Value, indent = '', level = 0): string {
  const nl = indent ? `\n${indent.repeat(level + 1)}` : ''
  const end = indent ? `\n${indent.repeat(level)}` : ''
  if (v === undefined || v === null) return 'null'
  if (typeof v === 'string') {
    return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  }
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new GoError(`json: unsupported value: ${formatValue(v)}`)
    const abs = Math.abs(v)
    if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) return v.toExponential().replace(/e([+-])(\d)$/, 'e$1$2')
    return String(v)
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]'
    return `[${v.map((e) => nl + toJson(e, indent, level + 1)).join(',')}${end}]`
  }
  if (typeof v === 'function') throw new GoError('json: unsupported type: func')
  if (interfaceKeyedMaps.has(v)) throw new GoError('json: unsupported type: map[interface {}]interface {}')
  const keys = sortedKeys(v)
  if (keys.length === 0) return '{}'
  const sep = indent ? ': ' : ':'
  return `{${keys.map((k) => nl + toJson(k) + sep + toJson(v[k], indent, level + 1)).join(',')}${end}}`
}

function fromJsonValue(j: unknown): Value {
  if (Array.isArray(j)) return j.map(fromJsonValue)
  if (j !== null && typeof j === 'object') {
    return Object.fromEntries(Object.entries(j).map(([k, e]) => [k, fromJsonValue(e)]))
  }
  return j as Value
}
export {fromJsonValue}

/** Go's strings.Title: the first letter of each word in upper case. */
function title(s: string): string {
  let prev = ' '
  let out = ''
  for (const c of s) {
    const sep = !/^[\p{L}\p{N}_]$/u.test(prev) && (/^[\s\p{P}\p{S}]$/u.test(prev) || prev === ' ')
    out += sep ? c.toUpperCase() : c
    prev = c
  }
  return out
}

/** huandu/xstrings' case conversions, for words split at case changes, '_', '-', ' ' and '.'. */
function words(s: string): string[] {
  return s
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .split(/[\s_\-.]+/)
    .filter((w) => w !== '')
}
const snakecase = (s: string): string => words(s).map((w) => w.toLowerCase()).join('_')
const kebabcase = (s: string): string => words(s).map((w) => w.toLowerCase()).join('-')
function camelcase(s: string): string {
  return s.split('_').map((w, i) => (w === '' && i > 0 ? '_' : w.charAt(0).toUpperCase() + w.slice(1))).join('')
}

/** Go's regexp Expand syntax ($1, ${1}, $name) in a replacement, applied to one JavaScript match. */
function expand(repl: string, groups: (string | undefined)[], named: Record<string, string | undefined> | undefined): string {
  let out = ''
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i]
    if (c !== '$') {
      out += c
      continue
    }
    if (repl[i + 1] === '$') {
      out += '$'
      i++
      continue
    }
    let name: string
    if (repl[i + 1] === '{') {
      const close = repl.indexOf('}', i)
      if (close < 0) {
        out += c
        continue
      }
      name = repl.slice(i + 2, close)
      i = close
    } else {
      let j = i + 1
      while (j < repl.length && /[A-Za-z0-9_]/.test(repl[j])) j++
      name = repl.slice(i + 1, j)
      if (name === '') {
        out += c
        continue
      }
      i = j - 1
    }
    out += /^\d+$/.test(name) ? (groups[Number(name)] ?? '') : (named?.[name] ?? '')
  }
  return out
}

function regexReplaceAll(re: string, s: string, repl: string): string {
  return s.replace(new RegExp(re, 'gu'), (...m: unknown[]) => {
    const hasNamed = typeof m[m.length - 1] === 'object'
    const named = hasNamed ? (m[m.length - 1] as Record<string, string | undefined>) : undefined
    const groups = m.slice(0, hasNamed ? -3 : -2) as (string | undefined)[]
    return expand(repl, groups, named)
  })
}

/** Go's strings.Trim(s, cutset). */
function trimCutset(s: string, cutset: string): string {
  const chars = [...s]
  const set = new Set(cutset)
  let a = 0
  let b = chars.length
  while (a < b && set.has(chars[a])) a++
  while (b > a && set.has(chars[b - 1])) b--
  return chars.slice(a, b).join('')
}

const until = (start: bigint, stop: bigint, step: bigint): Value[] => {
  const out: Value[] = []
  if (step === 0n) return out
  if (start < stop) {
    if (step < 0n) return out
    for (let i = start; i < stop; i += step) out.push(i)
  } else {
    if (step > 0n) return out
    for (let i = start; i > stop; i += step) out.push(i)
  }
  return out
}

function seq(...params: Value[]): string {
  const p = params as bigint[]
  const join = (l: Value[]): string => l.map(String).join(' ')
  switch (p.length) {
    case 0: return ''
    case 1: return p[0] > 0n ? join(until(1n, p[0] + 1n, 1n)) : join(until(1n, p[0] - 1n, -1n))
    case 2: return p[1] >= p[0] ? join(until(p[0], p[1] + 1n, 1n)) : join(until(p[0], p[1] - 1n, -1n))
    case 3: {
      const [start, step, end] = p
      if (end > start) return step > 0n ? join(until(start, end + 1n, step)) : ''
      return step < 0n ? join(until(start, end - 1n, step)) : ''
    }
    default: return ''
  }
}

const hash = (algorithm: string) => (s: Value): string => createHash(algorithm).update(s as string).digest('hex')

const s = 'string' as const
const i = 'int' as const
const a = 'any' as const
const m = 'map' as const
const fn = (params: GoFunction['params'], call: GoFunction['call'], variadic?: GoFunction['variadic']): GoFunction =>
  ({params, call, variadic})

export const SPRIG: ReadonlyMap<string, GoFunction> = new Map<string, GoFunction>([
  ['trim', fn([s], (x) => (x as string).trim())],
  ['trimAll', fn([s, s], (c, x) => trimCutset(x as string, c as string))],
  ['trimPrefix', fn([s, s], (p, x) => ((x as string).startsWith(p as string) ? (x as string).slice((p as string).length) : (x as string)))],
  ['trimSuffix', fn([s, s], (p, x) => ((x as string).endsWith(p as string) && (p as string) !== '' ? (x as string).slice(0, -(p as string).length) : (x as string)))],
  ['upper', fn([s], (x) => (x as string).toUpperCase())],
  ['lower', fn([s], (x) => (x as string).toLowerCase())],
  ['title', fn([s], (x) => title(x as string))],
  ['repeat', fn([i, s], (n, x) => {
    if ((n as bigint) < 0n) throw new GoError('strings: negative Repeat count')
    return (x as string).repeat(Number(n))
  })],
  ['replace', fn([s, s, s], (o, n, x) => (x as string).split(o as string).join(n as string))],
  ['contains', fn([s, s], (sub, x) => (x as string).includes(sub as string))],
  ['hasPrefix', fn([s, s], (p, x) => (x as string).startsWith(p as string))],
  ['hasSuffix', fn([s, s], (p, x) => (x as string).endsWith(p as string))],
  ['quote', fn([], (...xs) => xs.filter((x) => x !== null && x !== undefined).map((x) => goQuote(strval(x))).join(' '), a)],
  ['squote', fn([], (...xs) => xs.filter((x) => x !== null && x !== undefined).map((x) => `'${strval(x)}'`).join(' '), a)],
  ['indent', fn([i, s], (n, x) => {
    const pad = ' '.repeat(Number(n))
    return pad + (x as string).split('\n').join(`\n${pad}`)
  })],
  ['nindent', fn([i, s], (n, x) => {
    const pad = ' '.repeat(Number(n))
    return `\n${pad}${(x as string).split('\n').join(`\n${pad}`)}`
  })],
  ['snakecase', fn([s], (x) => snakecase(x as string))],
  ['kebabcase', fn([s], (x) => kebabcase(x as string))],
  ['camelcase', fn([s], (x) => camelcase(x as string))],
  ['sha256sum', fn([s], hash('sha256'))],
  ['sha1sum', fn([s], hash('sha1'))],
  ['b64enc', fn([s], (x) => Buffer.from(x as string).toString('base64'))],
  ['b64dec', fn([s], (x) => {
    const t = x as string
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) return `illegal base64 data at input byte ${badBase64Offset(t)}`
    return Buffer.from(t, 'base64').toString()
  })],
  ['toString', fn([a], strval)],
  ['int', fn([a], toInt64)],
  ['int64', fn([a], toInt64)],
  ['float64', fn([a], toFloat64)],
  ['atoi', fn([s], (x) => (/^[+-]?\d+$/.test(x as string) ? BigInt(x as string) : 0n))],
  ['add', fn([], (...xs) => xs.reduce<bigint>((acc, x) => acc + toInt64(x), 0n), a)],
  ['add1', fn([a], (x) => toInt64(x) + 1n)],
  ['sub', fn([a, a], (x, y) => toInt64(x) - toInt64(y))],
  ['mul', fn([a], (x, ...ys) => ys.reduce<bigint>((acc, y) => acc * toInt64(y), toInt64(x)), a)],
  ['div', fn([a, a], (x, y) => {
    if (toInt64(y) === 0n) throw new GoError('runtime error: integer divide by zero')
    return toInt64(x) / toInt64(y)
  })],
  ['mod', fn([a, a], (x, y) => {
    if (toInt64(y) === 0n) throw new GoError('runtime error: integer divide by zero')
    return toInt64(x) % toInt64(y)
  })],
  ['max', fn([a], (x, ...ys) => ys.reduce<bigint>((acc, y) => (toInt64(y) > acc ? toInt64(y) : acc), toInt64(x)), a)],
  ['min', fn([a], (x, ...ys) => ys.reduce<bigint>((acc, y) => (toInt64(y) < acc ? toInt64(y) : acc), toInt64(x)), a)],
  ['until', fn([i], (n) => until(0n, n as bigint, (n as bigint) < 0n ? -1n : 1n))],
  ['untilStep', fn([i, i, i], (x, y, z) => until(x as bigint, y as bigint, z as bigint))],
  ['seq', fn([], seq, i)],
  ['split', fn([s, s], (sep, x) => Object.fromEntries(splitGo(x as string, sep as string).map((p, n) => [`_${n}`, p])))],
  ['splitList', fn([s, s], (sep, x) => splitGo(x as string, sep as string))],
  ['join', fn([s, a], (sep, v) => strslice(v).join(sep as string))],
  ['sortAlpha', fn([a], (v) => {
    if (!Array.isArray(v)) return [strval(v)]
    return strslice(v).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
  })],
  ['list', fn([], (...xs) => xs, a)],
  ['tuple', fn([], (...xs) => xs, a)],
  ['append', fn([a, a], (l, v) => [...list(l, 'push'), v])],
  ['push', fn([a, a], (l, v) => [...list(l, 'push'), v])],
  ['prepend', fn([a, a], (l, v) => [v, ...list(l, 'prepend')])],
  ['first', fn([a], (l) => (list(l, 'find first').length === 0 ? null : (l as Value[])[0]))],
  ['last', fn([a], (l) => (list(l, 'find last').length === 0 ? null : (l as Value[])[(l as Value[]).length - 1]))],
  ['rest', fn([a], (l) => (list(l, 'find rest').length === 0 ? null : (l as Value[]).slice(1)))],
  ['initial', fn([a], (l) => (list(l, 'find initial').length === 0 ? null : (l as Value[]).slice(0, -1)))],
  ['reverse', fn([a], (l) => [...list(l, 'find reverse')].reverse())],
  ['uniq', fn([a], (l) => list(l, 'find uniq').filter((v, n, all) => all.findIndex((w) => deepEqual(v, w)) === n))],
  ['compact', fn([a], (l) => list(l, 'compact').filter((v) => !empty(v)))],
  ['without', fn([a], (l, ...omit) => list(l, 'find without').filter((v) => !omit.some((o) => deepEqual(v, o))), a)],
  ['has', fn([a, a], (needle, hay) => {
    if (hay === null || hay === undefined) return false
    return list(hay, 'find has').some((v) => deepEqual(v, needle))
  })],
  ['slice', fn([a], (l, ...indices) => {
    if (!Array.isArray(l)) throw new GoError(`list should be type of slice or array but ${typeName(l) === 'float64' || typeName(l) === 'int' || typeName(l) === 'bool' || typeName(l) === 'string' ? typeName(l) : 'map'}`)
    if (l.length === 0) return null
    const start = indices.length > 0 ? Number(toInt64(indices[0])) : 0
    const end = indices.length > 1 ? Number(toInt64(indices[1])) : l.length
    return l.slice(start, end)
  }, a)],
  ['concat', fn([], (...ls) => ls.flatMap((l) => list(l, 'concat type')), a)],
  ['dict', fn([], (...xs) => {
    const d: GoMap = {}
    for (let n = 0; n < xs.length; n += 2) d[strval(xs[n])] = n + 1 < xs.length ? xs[n + 1] : ''
    return d
  }, a)],
  ['set', fn([m, s, a], (d, k, v) => {
    if (d === null) throw new GoError('assignment to entry in nil map')
    ;(d as GoMap)[k as string] = v
    return d
  })],
  ['unset', fn([m, s], (d, k) => {
    delete (d as GoMap)[k as string]
    return d
  })],
  ['get', fn([m, s], (d, k) => (Object.prototype.hasOwnProperty.call(d, k as string) ? (d as GoMap)[k as string] : ''))],
  ['hasKey', fn([m, s], (d, k) => Object.prototype.hasOwnProperty.call(d, k as string))],
  ['keys', fn([], (...ds) => ds.flatMap((d) => Object.keys(d as GoMap)), m)],
  ['values', fn([m], (d) => Object.values(d as GoMap))],
  ['pick', fn([m], (d, ...ks) => Object.fromEntries(ks.map(strval).filter((k) => Object.hasOwn(d as GoMap, k)).map((k) => [k, (d as GoMap)[k]])), s)],
  ['omit', fn([m], (d, ...ks) => Object.fromEntries(Object.entries(d as GoMap).filter(([k]) => !ks.includes(k))), s)],
  ['merge', fn([m], (dst, ...srcs) => {
    for (const src of srcs) mergeInto(dst as GoMap, src as GoMap)
    return dst
  }, m)],
  ['default', fn([a], (d, ...given) => (given.length === 0 || empty(given[0]) ? d : given[0]), a)],
  ['empty', fn([a], empty)],
  ['coalesce', fn([], (...xs) => xs.find((x) => !empty(x)) ?? null, a)],
  ['ternary', fn([a, a, 'bool'], (t, f, c) => (c ? t : f))],
  ['toJson', fn([a], (v) => {
    try {
      return toJson(v)
    } catch {
      return ''
    }
  })],
  ['toPrettyJson', fn([a], (v) => {
    try {
      return toJson(v, '  ')
    } catch {
      return ''
    }
  })],
  ['fromJson', fn([s], (x) => {
    try {
      return fromJsonValue(JSON.parse(x as string))
    } catch {
      return null
    }
  })],
  ['regexMatch', fn([s, s], (re, x) => new RegExp(re as string, 'u').test(x as string))],
  ['regexReplaceAll', fn([s, s, s], (re, x, r) => regexReplaceAll(re as string, x as string, r as string))],
  ['regexReplaceAllLiteral', fn([s, s, s], (re, x, r) => (x as string).replace(new RegExp(re as string, 'gu'), () => r as string))],
  ['regexFindAll', fn([s, s, i], (re, x, n) => {
    const all = [...(x as string).matchAll(new RegExp(re as string, 'gu'))].map((mm) => mm[0])
    return (n as bigint) < 0n ? all : all.slice(0, Number(n))
  })],
  ['regexFind', fn([s, s], (re, x) => new RegExp(re as string, 'u').exec(x as string)?.[0] ?? '')],
  ['base', fn([s], (x) => goPathBase(x as string))],
  ['dir', fn([s], (x) => goPathDir(x as string))],
  ['fail', fn([s], (msg) => {
    throw new GoError(msg as string)
  })],
  ['cat', fn([], (...xs) => xs.filter((x) => x !== null && x !== undefined).map(strval).join(' '), a)],
  ['nospace', fn([s], (x) => (x as string).replace(/\s/g, ''))],
  ['trunc', fn([i, s], (n, x) => {
    const str = x as string
    const c = Number(n)
    if (c < 0 && str.length + c > 0) return str.slice(str.length + c)
    if (c >= 0 && str.length > c) return str.slice(0, c)
    return str
  })],
  ['substr', fn([i, i, s], (st, en, x) => {
    const str = x as string
    const [b, e] = [Number(st), Number(en)]
    if (b < 0) return str.slice(0, e)
    if (e < 0 || e > str.length) return str.slice(b)
    return str.slice(b, e)
  })],
])

function splitGo(s: string, sep: string): string[] {
  if (sep === '') return [...s]
  return s.split(sep)
}

function badBase64Offset(t: string): number {
  const idx = [...t].findIndex((c) => !/[A-Za-z0-9+/=]/.test(c))
  return idx >= 0 ? idx : t.length - (t.length % 4)
}

function goPathBase(p: string): string {
  if (p === '') return '.'
  const t = p.replace(/\/+$/, '')
  if (t === '') return '/'
  return t.slice(t.lastIndexOf('/') + 1)
}

function goPathDir(p: string): string {
  const d = p.slice(0, p.lastIndexOf('/') + 1)
  const cleaned = d.replace(/\/+$/, '')
  if (d === '') return '.'
  return cleaned === '' ? '/' : cleaned
}
