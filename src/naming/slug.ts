/**
 * dapp/werf slugging: a value that is already a valid slug stays as it is; anything else is lower-cased,
 * runs of invalid characters become one `-`, and an 8-hex murmur3 hash of the original is appended so that
 * two different inputs never share a slug. The result fits `maxLength`.
 */
export const DOCKER_TAG_MAX_LENGTH = 128

const TAG_SLUG_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/

export function murmur3Hex(input: string, seed = 0): string {
  const data = Buffer.from(input, 'utf8')
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  let h = seed >>> 0
  const blocks = Math.floor(data.length / 4)
  for (let i = 0; i < blocks; i++) {
    let k = data.readUInt32LE(i * 4)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  const tail = blocks * 4
  const rest = data.length & 3
  if (rest > 0) {
    let k = 0
    for (let i = rest - 1; i >= 0; i--) k ^= data[tail + i] << (8 * i)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
  }
  h ^= data.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return (h >>> 0).toString(16)
}

function slugify(input: string): string {
  return input
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}

export function slug(input: string, maxLength = DOCKER_TAG_MAX_LENGTH): string {
  if (input.length <= maxLength && TAG_SLUG_RE.test(input)) return input
  const hash = murmur3Hex(input)
  const base = slugify(input)
  if (base === '') return hash
  const room = maxLength - hash.length - 1
  const cropped = base.slice(0, room).replace(/-+$/, '')
  return cropped === '' ? hash : `${cropped}-${hash}`
}

/** A path component of a docker repository name (distribution's grammar). */
const REPOSITORY_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/

/**
 * A dimg name (any string, as dapp and werf take) as one component of a registry path or a directory name:
 * names that already are one stay as they are, others are slugged (and so never hold "/" or "..").
 */
export function nameComponent(name: string): string {
  return name.length <= DOCKER_TAG_MAX_LENGTH && REPOSITORY_COMPONENT_RE.test(name) ? name : slug(name)
}
