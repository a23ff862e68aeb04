import {PassThrough} from 'node:stream'

import {formatElapsed, isLiveTerminal, LineReporter, type Verbosity} from '../../../src/cli/progress.js'
import {fitList, renderTableWithList, tableWidth} from '../../../src/cli/table.js'

function logOf(verbosity: Verbosity, work: (r: LineReporter) => void): string[] {
  const out = new PassThrough()
  let text = ''
  out.on('data', (d: Buffer) => (text += d.toString()))
  work(new LineReporter(out, verbosity))
  return text.split('\n').filter(Boolean)
}

const aRun = (r: LineReporter): void => {
  r.begin('app: install', 'app: install 0123456789ab')
  r.output('app: install', 'compiling')
  r.begin('push sha256:1', 'repo@111111111111', {total: 2048, detail: true})
  r.end('push sha256:1', 'uploaded')
  r.image({verb: 'pushed', ref: 'reg/repo:1', blobs: 2, bytes: 3 * 1024 * 1024, movedBytes: 2048})
  r.end('app: install', 'built 2.1s', {layerBytes: 1536})
  r.warn('careful')
  r.failedOutput('app: install', ['tail line'])
}

describe('LineReporter', () => {
  it('normal: a line per stage and per image and the command output, no blob lines', () => {
    expect(logOf('normal', aRun)).toEqual([
      '  [app: install] compiling',
      'pushed reg/repo:1: 2 blobs, 3.0 MiB (2.0 KiB uploaded)',
      'app: install 0123456789ab: built 2.1s, layer 1.5 KiB',
      'warning: careful',
    ])
  })

  it('verbose: the blob lines too', () => {
    expect(logOf('verbose', aRun)).toContain('repo@111111111111 (2.0 KiB): uploaded')
  })

  it('quiet: warnings, and the tail of a failed command it did not show', () => {
    expect(logOf('quiet', aRun)).toEqual(['warning: careful', '  [app: install] tail line'])
  })
})

describe('the live display', () => {
  it.each([
    [{}, true],
    [{TERM: 'dumb'}, false],
    [{NO_COLOR: '1'}, false],
    [{NO_COLOR: ''}, true],
    [{CI: 'true'}, false],
    [{CI: 'false'}, true],
  ])('on a terminal with %j: %s', (env, live) => {
    expect(isLiveTerminal({isTTY: true}, {TERM: 'xterm', ...env})).toBe(live)
  })

  it('is never used off a terminal', () => {
    expect(isLiveTerminal({isTTY: false}, {TERM: 'xterm'})).toBe(false)
  })

  it('counts whole seconds', () => {
    expect([0, 999, 1000, 59_999, 65_000].map(formatElapsed)).toEqual(['0s', '0s', '1s', '59s', '1m05s'])
  })
})

describe('tables', () => {
  it('keep the list entries that fit and count the rest', () => {
    const items = ['reg/app:one', 'reg/app:two', 'reg/app:three']
    expect(fitList(items, 100)).toBe('reg/app:one, reg/app:two, reg/app:three')
    expect(fitList(items, 35)).toBe('reg/app:one, reg/app:two, +1 more')
    expect(fitList(items, 5)).toBe('reg/app:one, +2 more')
    expect(fitList([], 5)).toBe('-')
  })

  it('fit the last column to the width', () => {
    const table = renderTableWithList(['NAME', 'USED BY'], [{cells: ['a'], list: ['x1234', 'y1234', 'z1234']}], 20)
    expect(table.split('\n')).toEqual(['NAME  USED BY', 'a     x1234, +2 more'])
  })

  it('are as wide as COLUMNS, else the terminal; a pipe and --wide get whole rows', () => {
    expect(tableWidth(false, {COLUMNS: '90'}, {isTTY: false})).toBe(90)
    expect(tableWidth(false, {}, {isTTY: true, columns: 70})).toBe(70)
    expect(tableWidth(false, {}, {isTTY: false})).toBe(Number.POSITIVE_INFINITY)
    expect(tableWidth(true, {COLUMNS: '90'}, {isTTY: true, columns: 70})).toBe(Number.POSITIVE_INFINITY)
  })
})
