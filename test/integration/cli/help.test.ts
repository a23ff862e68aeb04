/** Issue 18, oclif conventions: help (@oclif/plugin-help), "did you mean" (@oclif/plugin-not-found),
 *  shell completion (@oclif/plugin-autocomplete), and oclif's errors in slipway's one-line style. */
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {REPO_ROOT, runSlipway} from '../../helpers/cli.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'
import {EXIT_CODES} from '../../../src/errors.js'

interface ManifestArg {
  description?: string
}
interface ManifestCommand {
  id: string
  summary?: string
  description?: string
  examples?: (string | {command: string})[]
  args: Record<string, ManifestArg>
  flags: Record<string, {env?: string}>
}

/** The commands the bundled oclif plugins bring (their help is theirs, not written to slipway's rules). */
const PLUGIN_COMMANDS = /^(help|autocomplete(:.*)?)$/

let cacheHome: string
beforeAll(async () => {
  cacheHome = await makeTempDir('slipway-help-cache-')
})
afterAll(async () => {
  await removeTempDir(cacheHome)
})
const slipway = (args: string[]) => runSlipway(args, {env: {XDG_CACHE_HOME: cacheHome}})

async function manifestCommands(): Promise<ManifestCommand[]> {
  const manifest = JSON.parse(await readFile(join(REPO_ROOT, '.oclif.manifest.json'), 'utf8')) as {commands: Record<string, ManifestCommand>}
  return Object.values(manifest.commands)
}

describe('help', () => {
  it.each([
    ['slipway help dimg build', ['help', 'dimg', 'build']],
    ['slipway dimg build -h', ['dimg', 'build', '-h']],
    ['slipway dimg build --help', ['dimg', 'build', '--help']],
  ])('%s shows the usage, ARGUMENTS, EXAMPLES, the env variables and the exit codes', async (_, args) => {
    const r = await slipway(args)
    expect(r).toMatchObject({code: 0, stderr: ''})
    expect(r.stdout).toMatch(/^USAGE\n {2}\$ slipway dimg build \[DIMG \.\.\.\]$/m)
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('ARGUMENTS [DIMG...] A dimg name from the dappfile; several may be given; none means every dimg.')
    expect(r.stdout).toMatch(/^EXAMPLES\n {2}\$ slipway dimg build$/m)
    expect(r.stdout).toMatch(/\[env: SLIPWAY_REPO\]/)
    const text = r.stdout.replace(/\s+/g, ' ')
    expect(text).toContain('[default: the number of CPU cores, env: SLIPWAY_PARALLEL]')
    for (const [kind, code] of Object.entries(EXIT_CODES)) expect([kind, text]).toEqual([kind, expect.stringMatching(new RegExp(`[:;] ${code} `))])
    expect(text).toContain("Exit codes: 0 success; 1 internal error (a bug: run again with --debug and report it); 2 bad flag, argument or reference;")
  })

  it('REPO is explained on every command that takes it', async () => {
    const r = await slipway(['dimg', 'bp', '-h'])
    expect(r.code).toBe(0)
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(
      '[REPO...] The registry repository the stages cache and final images go to, host[:port]/path (e.g. localhost:5000/myproject); default $SLIPWAY_REPO.',
    )
  })

  it('a topic lists its commands with spaces', async () => {
    const r = await slipway(['help', 'dimg'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^ {2}dimg build +Build the dimgs' stages/m)
    expect(r.stdout).not.toMatch(/dimg:/)
  })
})

describe('errors from oclif', () => {
  it('a mistyped command suggests the right one in one line, exit 2', async () => {
    const r = await slipway(['dimg', 'biuld'])
    expect(r.code).toBe(EXIT_CODES.usage)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('slipway: dimg biuld is not a slipway command: did you mean dimg build? (slipway help dimg lists the commands)\n')
  })

  it('a word that is near no command only points to the help', async () => {
    const r = await slipway(['frobnicate'])
    expect(r.code).toBe(EXIT_CODES.usage)
    expect(r.stderr).toBe('slipway: frobnicate is not a slipway command: slipway help lists the commands\n')
  })

  it('an unknown flag is one line naming the command with spaces, exit 2', async () => {
    const r = await slipway(['dimg', 'stages', 'list', 'local', '--nope'])
    expect(r.code).toBe(EXIT_CODES.usage)
    expect(r.stderr).toBe('slipway: dimg stages list local: Nonexistent flag: --nope (see slipway dimg stages list local --help)\n')
  })

  it('a missing argument and a bad flag value are one line each, exit 2, never with a colon-separated id', async () => {
    for (const args of [['image', 'pull'], ['dimg', 'build', '--parallel', '0'], ['dimg', 'build', '--isolation', 'vm']]) {
      const r = await slipway(args)
      expect([args, r.code]).toEqual([args, EXIT_CODES.usage])
      expect(r.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(new RegExp(`^slipway: ${args.slice(0, 2).join(' ')}: .* \\(see slipway ${args.slice(0, 2).join(' ')} --help\\)$`))])
      expect(r.stderr).not.toMatch(/\b(dimg|image|store):[a-z]/)
    }
  })
})

describe('autocomplete', () => {
  it('prints the bash setup, and the completion script it installs completes the dimg subcommands', async () => {
    const setup = await slipway(['autocomplete', 'bash'])
    expect(setup.code).toBe(0)
    expect(setup.stdout).toContain('slipway autocomplete script bash')
    const script = await slipway(['autocomplete', 'script', 'bash'])
    expect(script.code).toBe(0)
    const functions = join(cacheHome, 'slipway', 'autocomplete', 'functions', 'bash', 'slipway.bash')
    const generated = await readFile(functions, 'utf8')
    for (const id of ['dimg:build', 'dimg:bp', 'dimg:push', 'dimg:stages:push', 'image:pull']) expect(generated).toMatch(new RegExp(`^${id} `, 'm'))
    // what a shell does on `slipway dimg <TAB>` and `slipway dimg build --par<TAB>`
    const complete = async (words: string[]): Promise<string[]> => {
      const program = `${script.stdout.trim()}\nCOMP_WORDS=(${words.map(w => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE='${words.join(' ')}'; _slipway_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`
      const {stdout} = await promisify(execFile)('bash', ['-c', program], {env: {...process.env, XDG_CACHE_HOME: cacheHome}})
      return stdout.split('\n').filter(Boolean).map(w => w.trim())
    }
    expect(await complete(['slipway', 'dimg', ''])).toEqual(expect.arrayContaining(['build', 'bp', 'push', 'spush', 'stages', 'cleanup']))
    expect(await complete(['slipway', 'dimg', 'build', '--par'])).toEqual(['--parallel'])
  })
})

describe('every command documents itself', () => {
  it('has a summary, a description ending in the exit codes, 2 to 4 examples, a description for every argument', async () => {
    const commands = (await manifestCommands()).filter(c => !PLUGIN_COMMANDS.test(c.id))
    expect(commands.length).toBeGreaterThan(20)
    for (const c of commands) {
      expect([c.id, typeof c.summary]).toEqual([c.id, 'string'])
      expect([c.id, c.description]).toEqual([c.id, expect.stringMatching(/\S[\s\S]*\n\nExit codes: 0 success; .* 128\+N stopped by signal N/)])
      expect([c.id, c.examples?.length]).toEqual([c.id, expect.any(Number)])
      expect([c.id, c.examples!.length >= 2 && c.examples!.length <= 4]).toEqual([c.id, true])
      for (const [name, arg] of Object.entries(c.args)) expect([c.id, name, typeof arg.description]).toEqual([c.id, name, 'string'])
    }
  })

  it('every command that takes REPO says so, and every REPO falls back to SLIPWAY_REPO', async () => {
    const commands = await manifestCommands()
    const withRepo = commands.filter(c => 'repo' in c.args || 'repo' in c.flags).map(c => c.id).sort()
    expect(withRepo).toEqual([
      'dimg:bp',
      'dimg:build',
      'dimg:push',
      'dimg:spush',
      'dimg:stages:cleanup:local',
      'dimg:stages:cleanup:repo',
      'dimg:stages:flush:repo',
      'dimg:stages:list:local',
      'dimg:stages:list:repo',
      'dimg:stages:pull',
      'dimg:stages:push',
    ])
    for (const c of commands.filter(x => withRepo.includes(x.id))) {
      const said = c.args.repo?.description ?? ''
      expect([c.id, c.flags.repo?.env ?? said.includes('$SLIPWAY_REPO')]).toEqual([c.id, c.flags.repo ? 'SLIPWAY_REPO' : true])
    }
  })
})
