import {createHash, type Hash} from 'node:crypto'

import {SlipwayError} from '../errors.js'

/** `sha256:<64 hex>`; the only algorithm Slipway writes. sha512 is accepted when reading. */
export type Digest = string & {readonly __digest: unique symbol}

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s)
}

export function parseDigest(s: string, what = 'digest'): Digest {
  if (!isDigest(s)) throw new SlipwayError('integrity', `invalid ${what} "${s.slice(0, 140)}"`, {hint: 'expected sha256:<64 hex digits>'})
  return s
}

export function digestAlgorithm(d: Digest): 'sha256' | 'sha512' {
  return d.slice(0, d.indexOf(':')) as 'sha256' | 'sha512'
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1)
}

export function sha256Digest(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest
}

/** Incremental digester: feed chunks, read the digest and byte count at the end. */
export class Digester {
  private readonly hash: Hash
  private readonly algorithm: 'sha256' | 'sha512'
  size = 0

  constructor(algorithm: 'sha256' | 'sha512' = 'sha256') {
    this.algorithm = algorithm
    this.hash = createHash(algorithm)
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk)
    this.size += chunk.length
  }

  digest(): Digest {
    return `${this.algorithm}:${this.hash.digest('hex')}` as Digest
  }
}
