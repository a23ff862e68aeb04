import {SlipwayError} from '../../errors.js'

/**
 * The hosts given by --insecure-registry / SLIPWAY_INSECURE_REGISTRY: plain HTTP is allowed with them
 * and their TLS certificates are not verified, as registries.conf's `insecure = true` and docker's
 * `insecure-registries` mean. `HOST` matches that host on every port, `HOST:PORT` that port only
 * (`[::1]:5000` for IPv6). Host names compare case-insensitively, as DNS does.
 */
export interface InsecureHost {
  host: string
  /** Undefined: every port. */
  port?: string
}

export function parseInsecureHost(entry: string): InsecureHost {
  const text = entry.trim().toLowerCase()
  const bad = (why: string): SlipwayError => new SlipwayError('usage', `insecure registry "${entry}" ${why}`, {
    hint: 'give HOST (every port) or HOST:PORT (that port only), e.g. --insecure-registry registry.local:5000',
  })
  if (text.includes('://')) throw bad('has a URL scheme')
  if (text.includes('/')) throw bad('has a path')
  if (text === '') throw bad('is empty')
  let host = text
  let port: string | undefined
  if (text.startsWith('[')) {
    const end = text.indexOf(']')
    if (end < 0) throw bad('has an unclosed [')
    host = text.slice(1, end)
    const rest = text.slice(end + 1)
    if (rest !== '') {
      if (!rest.startsWith(':')) throw bad('is not HOST or HOST:PORT')
      port = rest.slice(1)
    }
  } else if (text.split(':').length === 2) {
    ;[host, port] = text.split(':')
  }
  // a bare IPv6 address (several colons, no brackets) is a host on every port
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw bad('has an invalid port')
  if (host === '') throw bad('has no host')
  return port === undefined ? {host} : {host, port}
}

/** Splits the environment variable's comma-separated list (empty items ignored). */
export function insecureHostsFromEnv(value: string | undefined): string[] {
  return (value ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
}

/** Whether `hostPort` (host[:port] as in a reference or URL.host) is one of `entries`. */
export function isInsecureHost(entries: readonly InsecureHost[], hostPort: string): boolean {
  const {host, port} = splitHostPort(hostPort)
  return entries.some(e => e.host === host && (e.port === undefined || e.port === port))
}

/** `host[:port]`, `[v6]:port`; the host lower-cased, without brackets. */
export function splitHostPort(hostPort: string): {host: string; port?: string} {
  const text = hostPort.toLowerCase()
  if (text.startsWith('[')) {
    const end = text.indexOf(']')
    const rest = text.slice(end + 1)
    return rest.startsWith(':') ? {host: text.slice(1, end), port: rest.slice(1)} : {host: text.slice(1, end)}
  }
  const i = text.lastIndexOf(':')
  return i < 0 || text.indexOf(':') !== i ? {host: text} : {host: text.slice(0, i), port: text.slice(i + 1)}
}
