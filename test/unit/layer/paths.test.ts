import {compareLayerPaths, opaqueWhiteoutPath, whiteoutPath} from '../../../src/layer/layer-path.js'
import {compileMapping} from '../../../src/layer/path-mapping.js'

describe('layer paths', () => {
  it('sorts parents before children and an opaque marker right after its directory', () => {
    const paths = ['a-b', 'a/z', 'a/-x', 'a/.wh..wh..opq', 'a', '.wh.c', 'b', 'a/.wh.y']
    expect([...paths].sort(compareLayerPaths)).toEqual(['.wh.c', 'a', 'a-b', 'a/.wh..wh..opq', 'a/-x', 'a/.wh.y', 'a/z', 'b'])
  })

  it('names whiteouts', () => {
    expect(whiteoutPath('x')).toBe('.wh.x')
    expect(whiteoutPath('a/b/x')).toBe('a/b/.wh.x')
    expect(opaqueWhiteoutPath('a/b')).toBe('a/b/.wh..wh..opq')
  })
})

describe('path mappings', () => {
  it('maps add to to and filters by include/exclude relative to add', () => {
    const m = compileMapping({add: '/src/', to: '/app', includePaths: ['lib', '*.json'], excludePaths: ['lib/**/*.test.js']})
    expect(m.target('src/lib/a.js')).toBe('app/lib/a.js')
    expect(m.target('src/lib/deep/a.test.js')).toBeNull()
    expect(m.target('src/package.json')).toBe('app/package.json')
    expect(m.target('src/main.js')).toBeNull()
    expect(m.target('srcfoo/lib/a.js')).toBeNull()
    expect(m.target('other/x')).toBeNull()
  })

  it('maps a single file and the whole repository', () => {
    expect(compileMapping({add: '/Gemfile', to: '/app/Gemfile'}).target('Gemfile')).toBe('app/Gemfile')
    const all = compileMapping({add: '/', to: '/', excludePaths: ['.git*']})
    expect(all.target('x/y')).toBe('x/y')
    expect(all.target('.gitignore')).toBeNull()
    expect(all.owns('anything')).toBe(true)
    expect(compileMapping({add: '/', to: '/app'}).owns('app-other')).toBe(false)
  })
})
