import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

import picomatch from 'picomatch'

import {render, TemplateError} from '../../../../src/config/template/index.js'

/**
 * Every case under fixtures/template-golden/cases/ was rendered by Go's text/template with sprig
 * (fixtures/template-golden/render.go); the TypeScript engine must give the same bytes, or the same
 * error line.
 */
const root = join(new URL('.', import.meta.url).pathname, '../../../../fixtures/template-golden/cases')
const cases = readdirSync(root).sort()

function walk(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).sort().flatMap((e) => (statSync(join(dir, e)).isDirectory() ? walk(join(dir, e)) : [join(dir, e)]))
}

function renderCase(dir: string): string {
  const read = (f: string): string | undefined => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : undefined)
  const partialsDir = join(dir, 'partials')
  const filesDir = join(dir, 'files')
  const partials = new Map(walk(partialsDir).map((p) => [relative(partialsDir, p), readFileSync(p, 'utf8')]))
  return render(read('template.tmpl')!, {
    name: 'werf.yaml',
    data: JSON.parse(read('data.json') ?? '{}'),
    env: JSON.parse(read('env.json') ?? '{}'),
    partials,
    files: {
      get: (path) => (existsSync(join(filesDir, path)) ? readFileSync(join(filesDir, path), 'utf8') : ''),
      glob: (pattern) => {
        const match = picomatch(pattern)
        const found = walk(filesDir).map((p) => relative(filesDir, p)).filter((p) => match(p))
        return Object.fromEntries(found.map((p) => [p, readFileSync(join(filesDir, p), 'utf8')]))
      },
    },
  })
}

describe('Go template goldens', () => {
  it('has at least 150 cases, errors among them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(150)
    expect(cases.filter((c) => existsSync(join(root, c, 'expected-error'))).length).toBeGreaterThanOrEqual(30)
  })

  it.each(cases)('%s', (name) => {
    const dir = join(root, name)
    const expectedError = join(dir, 'expected-error')
    if (existsSync(expectedError)) {
      let error: unknown
      try {
        renderCase(dir)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(TemplateError)
      const err = error as TemplateError
      expect(err.kind).toBe('config')
      expect(err.message).toBe(readFileSync(expectedError, 'utf8').trimEnd().replace(/\n/g, ' '))
      expect(err.line).toBe(Number(/^template: [^:]+:(\d+)/.exec(err.message)?.[1]))
    } else {
      expect(renderCase(dir)).toBe(readFileSync(join(dir, 'expected'), 'utf8'))
    }
  })
})
