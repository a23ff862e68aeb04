/**
 * The Go values a template sees, as JavaScript values: string, boolean, bigint (Go int), number (float64,
 * as encoding/json decodes every JSON number), null (a nil interface), undefined (reflect's invalid
 * value: a missing map key), arrays ([]interface {}), plain objects (map[string]interface {}) and
 * functions (methods such as .Files.Get).
 */
export type Value = string | boolean | bigint | number | null | undefined | Value[] | GoMap | GoFunc
export interface GoMap { [key: string]: Value }
export type GoFunc = (...args: Value[]) => Value

export const isMap = (v: Value): v is GoMap =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** Go's name of the value's dynamic type, as errors print it. */
export function typeName(v: Value): string {
  if (v === undefined || v === null) return '<nil>'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'bigint') return 'int'
  if (typeof v === 'number') return 'float64'
  if (Array.isArray(v)) return '[]interface {}'
  if (typeof v === 'function') return 'func'
  return 'map[string]interface {}'
}

/** text/template's truth: empty strings, lists and maps, zero numbers, false and nil are false. */
export function isTrue(v: Value): boolean {
  if (v === undefined || v === null) return false
  if (typeof v === 'string') return v.length > 0
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'boolean') return v
  if (typeof v === 'bigint') return v !== 0n
  if (typeof v === 'number') return v !== 0
  if (typeof v === 'function') return true
  return Object.keys(v).length > 0
}

/** Map keys in the order Go's fmt and range use (byte order of strings). */
export function sortedKeys(m: GoMap): string[] {
  return Object.keys(m).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

/** A Go error a function returns; the executor reports it as "error calling NAME: MESSAGE". */
export class GoError extends Error {}

/** Maps that yaml.v2 decodes inside a document are map[interface {}]interface {}: encoding/json refuses them. */
export const interfaceKeyedMaps = new WeakSet<GoMap>()
