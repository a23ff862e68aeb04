/** The README's command reference is what `oclif readme` makes of the command manifest (`npm run readme`
 *  writes it): this fails as soon as a command's help changes without the README following. */
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {REPO_ROOT} from '../../helpers/cli.js'

const START = '<!-- commands -->'
const END = '<!-- commandsstop -->'

/** The section between the markers, each alone on its line (oclif's dry run also names START in its log line). */
function commandReference(readme: string): string {
  const start = readme.indexOf(`\n${START}\n`)
  const end = readme.indexOf(`\n${END}`)
  if (start === -1 || end < start) throw new Error(`no ${START} … ${END} section`)
  return readme.slice(start, end + END.length)
}

it("the README's command reference is the one generated from the manifest", async () => {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8')
  // the options npm run readme gives; --dry-run prints the README it would write
  const {stdout} = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'node_modules', 'oclif', 'bin', 'run.js'), 'readme', '--no-source-links', '--readme-path', 'README.md', '--dry-run'], {
    cwd: REPO_ROOT,
    env: {...process.env, COLUMNS: '120', OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
    maxBuffer: 16 * 1024 * 1024,
  })
  const generated = commandReference(stdout)
  expect(generated).toContain('## `slipway dimg build [DIMG ...]`')
  if (commandReference(readme) !== generated) {
    throw new Error('README.md: the command reference differs from the manifest: run `npm run build && npm run readme`')
  }
})
