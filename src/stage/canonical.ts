/**
 * A deterministic JSON encoding: object keys sorted by code unit, no whitespace, `undefined` members
 * dropped. Only JSON values are accepted (finite numbers, strings, booleans, null, arrays, plain objects),
 * so the bytes are the same on every machine and Node version.
 */
export type CanonicalValue = null | boolean | number | string | CanonicalValue[] | {[key: string]: CanonicalValue | undefined}

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot encode the number ${value} canonically`)
      return JSON.stringify(value)
    case 'string':
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) throw new TypeError('only plain objects can be encoded canonically')
      const obj = value as Record<string, unknown>
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
    }
    default:
      throw new TypeError(`cannot encode a ${typeof value} canonically`)
  }
}
