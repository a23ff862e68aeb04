import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {ConfigError} from '../../../src/config/errors.js'
import {parseDappfile} from '../../../src/config/load.js'

/**
 * Every file in broken/ is a dappfile with one mistake; its first line says the exact one-line error
 * (`# expect: FILE:LINE:COLUMN: …`) that parsing it must give.
 */
const dir = join(new URL('.', import.meta.url).pathname, 'broken')
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()

describe('broken dappfiles', () => {
  it('has at least 25 cases', () => {
    expect(files.length).toBeGreaterThanOrEqual(25)
  })

  it.each(files)('%s gives its one-line error', (file) => {
    const text = readFileSync(join(dir, file), 'utf8')
    const expected = /^# expect: (.*)$/m.exec(text.split('\n')[0])?.[1]
    expect(expected).toBeDefined()
    let error: unknown
    try {
      parseDappfile(text, file)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const err = error as ConfigError
    expect(err.kind).toBe('config')
    expect(err.userLine).toBe(expected)
    expect(err.userLine).not.toContain('\n')
    expect(err.userLine).not.toMatch(/\bat .*\.(ts|js):\d+/)
    const [, line, column] = /^[^:]+:(\d+):(\d+):/.exec(expected!)!
    expect([err.line, err.column]).toEqual([Number(line), Number(column)])
  })
})
