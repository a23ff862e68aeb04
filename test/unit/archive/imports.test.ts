import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src')

/** The src/ modules `file` (a path under src/) imports, as paths under src/ without the extension. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8')
  return [...text.matchAll(/^(?:import|export)\b[^'"]*?from '(\.[^']+)\.js'/gms)].map(m => relative(SRC, resolve(dirname(join(SRC, file)), m[1]!)))
}

function filesUnder(room: string): string[] {
  return readdirSync(join(SRC, room), {recursive: true, encoding: 'utf8'}).filter(f => f.endsWith('.ts')).map(f => join(room, f))
}

describe('the archive room and the rooms around it', () => {
  it('src/layer imports nothing from src/store', () => {
    const fromStore = filesUnder('layer').flatMap(f => importsOf(f).filter(i => i.startsWith('store/')).map(i => `${f} → ${i}`))
    expect(fromStore).toEqual([])
  })

  it('src/archive imports only itself, errors, fs-atomic and oci', () => {
    const outside = filesUnder('archive').flatMap(f => importsOf(f).filter(i => !/^(archive|oci)\//.test(i) && i !== 'errors' && i !== 'fs-atomic').map(i => `${f} → ${i}`))
    expect(outside).toEqual([])
  })

  it('the store and build-context take the tar plumbing and the directory archive from src/archive', () => {
    expect(importsOf('store/archive.ts')).toContain('archive/index')
    expect(importsOf('workflows/build-context.ts')).toContain('archive/index')
  })

  it('tar-stream is imported by src/archive alone', () => {
    const users = filesUnder('.').filter(f => /from 'tar-stream'/.test(readFileSync(join(SRC, f), 'utf8'))).sort()
    expect(users).toEqual(['archive/byte-extract.ts', 'archive/tar.ts'])
  })

  it('src/fs-atomic.ts imports no other src module', () => {
    expect(importsOf('fs-atomic.ts')).toEqual([])
  })
})
