import {join} from 'node:path'

import {slipwayHome, storeRoot, StorePaths} from '../../../src/store/paths.js'
import {parseDigest} from '../../../src/oci/digest.js'

describe('store paths', () => {
  it('uses SLIPWAY_HOME when set', () => {
    expect(slipwayHome({SLIPWAY_HOME: '/srv/slipway'})).toBe('/srv/slipway')
    expect(storeRoot({SLIPWAY_HOME: '/srv/slipway'})).toBe('/srv/slipway/store')
  })

  it('falls back to XDG_DATA_HOME, then ~/.local/share', () => {
    expect(slipwayHome({XDG_DATA_HOME: '/data'})).toBe('/data/slipway')
    expect(storeRoot({HOME: '/home/u'})).toBe('/home/u/.local/share/slipway/store')
    expect(slipwayHome({SLIPWAY_HOME: '', XDG_DATA_HOME: '', HOME: '/h'})).toBe('/h/.local/share/slipway')
  })

  it('puts blobs under blobs/<algorithm>/<hex>', () => {
    const d = parseDigest(`sha256:${'ab'.repeat(32)}`)
    expect(new StorePaths('/s').blob(d)).toBe(join('/s', 'blobs', 'sha256', 'ab'.repeat(32)))
  })
})
