/**
 * The rooms of src/ and the one way through them (README, "How the code is laid out"): every import of a
 * module under src/ is read, static, dynamic and type-only alike, and checked against the tiers below.
 */
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'

const SRC = resolve('src')

/** Top tier first; a room may import its own tier and the ones after it, never one before it. */
const TIERS: readonly (readonly string[])[] = [
  ['commands'],
  ['cli'],
  ['workflows'],
  ['project', 'builder', 'cleanup', 'cache', 'transfer', 'roots'],
  ['stage', 'image', 'layer', 'sandbox', 'git', 'config', 'naming'],
  ['registry', 'store', 'archive'],
  ['oci'],
  // src/*.ts: errors, abort errors, redaction, timings, atomic file writes
  ['.'],
]

/** Pairs of rooms in one tier that must not import each other in either direction. */
const APART: readonly [string, string][] = [['registry', 'store']]

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap(e => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sources(path)
    return e.name.endsWith('.ts') ? [path] : []
  })
}

/** The room of a file under src/: its first folder, or '.' for src/*.ts. */
function roomOf(file: string): string {
  const parts = relative(SRC, file).split('/')
  return parts.length === 1 ? '.' : parts[0]
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm

/** Every relative module a source file names: `import … from`, `export … from`, `import('…')`, bare `import '…'`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(SPECIFIER)].map(m => resolve(dirname(file), m[1]))
}

interface Edge {
  from: string
  to: string
  file: string
}

function edges(): Edge[] {
  return sources(SRC).flatMap(file => {
    const from = roomOf(file)
    return importsOf(file)
      .filter(target => target.startsWith(SRC + '/'))
      .map(target => ({from, to: roomOf(target), file: relative(SRC, file)}))
      .filter(e => e.from !== e.to)
  })
}

const tierOf = (room: string): number => TIERS.findIndex(t => t.includes(room))

describe('the rooms of src/', () => {
  const all = edges()

  it('every room of src/ has its place among the tiers', () => {
    const rooms = new Set(sources(SRC).map(roomOf))
    expect([...rooms].filter(r => tierOf(r) < 0)).toEqual([])
  })

  it('imports go one way: commands → cli → workflows → the rest, and down the tiers below', () => {
    const upward = all.filter(e => tierOf(e.to) < tierOf(e.from)).map(e => `${e.file} imports ${e.to}/`)
    expect(upward).toEqual([])
  })

  it('nothing below workflows imports src/workflows', () => {
    const below = all.filter(e => e.to === 'workflows' && !['commands', 'cli'].includes(e.from)).map(e => e.file)
    expect(below).toEqual([])
  })

  it('rooms of one tier do not import each other in a circle', () => {
    const next = new Map<string, Set<string>>()
    for (const e of all) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to))
    const cycles: string[] = []
    const walk = (room: string, path: string[]): void => {
      for (const to of next.get(room) ?? []) {
        if (to === path[0]) cycles.push([...path, to].join(' → '))
        else if (!path.includes(to) && to > path[0]) walk(to, [...path, to])
      }
    }
    for (const room of next.keys()) walk(room, [room])
    expect(cycles).toEqual([])
  })

  it.each(APART)('%s and %s never import each other', (a, b) => {
    expect(all.filter(e => (e.from === a && e.to === b) || (e.from === b && e.to === a)).map(e => e.file)).toEqual([])
  })
})

describe('the README section "How the code is laid out"', () => {
  const readme = readFileSync('README.md', 'utf8')
  const section = readme.slice(readme.indexOf('## How the code is laid out'), readme.indexOf('\n## ', readme.indexOf('## How the code is laid out') + 1))
  const listed = [...section.matchAll(/^\| `src\/([a-z-]+)\/` \|/gm)].map(m => m[1]).sort()
  const folders = readdirSync(SRC, {withFileTypes: true}).filter(e => e.isDirectory()).map(e => e.name).sort()

  it('has one row for each folder of src/, and none for a folder that is gone', () => {
    expect(listed).toEqual(folders)
  })

  it('names each room of the tiers in its dependency line', () => {
    const line = section.slice(section.indexOf('Dependencies point one way'), section.indexOf('\n\n', section.indexOf('Dependencies point one way')))
    const named = [...line.matchAll(/`([a-z]+)`/g)].map(m => m[1])
    expect(TIERS.flat().filter(r => r !== '.' && !named.includes(r))).toEqual([])
  })
})
