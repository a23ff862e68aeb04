import {execFileSync} from 'node:child_process'

import {shellQuote} from '../../../src/sandbox/shell-quote.js'

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest so that sh reads them back unchanged', () => {
    expect(shellQuote('/app/bin')).toBe('/app/bin')
    expect(shellQuote('a b')).toBe("'a b'")
    for (const word of ['/app', 'a b', "it's", '$HOME', '`id`', '', 'x;y', '*', 'new\nline']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`], {encoding: 'utf8'})).toBe(word)
    }
  })
})
