import {parseDappfile} from '../../../src/config/load.js'
import {buildOrder} from '../../../src/workflows/plan.js'

const CONFIG = `dimg: app
fromDimg: base
import: [{artifact: tools, add: /out, after: install}]
---
dimg: base
fromArtifact: rootfs
---
dimg: other
from: alpine
---
artifact: rootfs
from: alpine
---
artifact: tools
fromDimgArtifact: rootfs
`

describe('buildOrder', () => {
  const config = parseDappfile(CONFIG, 'dappfile.yaml')
  const names = (selected: string[]): string[] => buildOrder(config, selected).order.map((d) => d.name as string)

  it('puts every dimg after the dimg it is built on and the artifacts it imports', () => {
    expect(names([])).toEqual(['rootfs', 'tools', 'base', 'app', 'other'])
  })

  it('builds what a selected dimg stands on, and marks only the selected ones', () => {
    expect(names(['app'])).toEqual(['rootfs', 'tools', 'base', 'app'])
    const {order, selected} = buildOrder(config, ['app'])
    expect(order.filter((d) => selected.has(d)).map((d) => d.name)).toEqual(['app'])
    expect(names(['base'])).toEqual(['rootfs', 'base'])
  })
})
