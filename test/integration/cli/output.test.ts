/** What a user and a CI job see: results alone on stdout, the log on stderr at the verbosity asked for
 *  (one line per stage and per image by default), tables fitted to the terminal, and the live display on a
 *  real terminal (script(1)) ticking through a slow stage. */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'

import {formatBytes} from '../../../src/cli/progress.js'
import {runSkopeo, pushBaseImage} from '../../helpers/base-image.js'
import {freshHomes, runSlipway, startSlipwayInTerminal} from '../../helpers/cli.js'
import {makeProject, type TestProject} from '../../helpers/project.js'
import {startRegistry, type TestRegistry} from '../../helpers/registry.js'
import {makeTempDir, removeTempDir} from '../../helpers/tmp.js'

const lines = (text: string): string[] => text.split('\n').filter(Boolean)
const STAGE_LINE = /^(assets|web|worker): \w+ [0-9a-f]{12}: (built \d+\.\ds( \(lower layers in REPO\))?(, layer \d+(\.\d)? (B|KiB|MiB))?|cached|cached in REPO)$/
const IMAGE_LINE = /^(pushed|pulled) \S+: \d+ blobs?, \S+ \S+ \(\S+ \S+ (uploaded|downloaded)\)$/
const BLOB_LINE = /@[0-9a-f]{12} \(\d+(\.\d)? (B|KiB|MiB)\): (uploaded|mounted|exists|copied|pulled)$/
const RESULT_LINE = /^\S+ sha256:[0-9a-f]{64}$/

interface BpReport {
  build: {built: number; dimgs: {stages: unknown[]}[]}
  push: {images: {image: string; digest: string}[]; stages: {status: string; image: string; digest?: string}[]; blobs: {pulled: number}}
}

describe('output: stdout for results, stderr for the log', () => {
  let reg: TestRegistry
  let project: TestProject
  let out: string
  const homes = freshHomes()
  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    project = await makeProject({registryHost: reg.host, fromExample: true, name: 'example'})
    out = await makeTempDir('slipway-output-')
  })
  afterAll(async () => {
    await reg?.stop()
    await homes.removeAll()
    await removeTempDir(out)
  })
  const slipway = (home: string, args: string[], env: Record<string, string> = {}) =>
    runSlipway([...args, '--dir', project.dir], {env: {SLIPWAY_HOME: home, ...reg.env(), ...env}, timeoutMs: 180_000})

  it('bp: stdout is the pushed references with digests; stderr one line per stage and per image, each once, no blob lines', async () => {
    const home = homes.home()
    const file = join(out, 'bp.json')
    const r = await slipway(home, ['dimg', 'bp', `${reg.host}/out`, '--with-stages', '--report-file', file])
    expect(r.code).toBe(0)
    const report = JSON.parse(await readFile(file, 'utf8')) as BpReport
    expect(lines(r.stdout)).toEqual(report.push.images.map(i => `${i.image} ${i.digest}`))
    expect(lines(r.stdout).every(l => RESULT_LINE.test(l))).toBe(true)

    const log = lines(r.stderr)
    expect(new Set(log).size).toBe(log.length)
    const stageCount = report.build.dimgs.reduce((n, d) => n + d.stages.length, 0)
    expect(log.filter(l => STAGE_LINE.test(l))).toHaveLength(stageCount)
    const pushedStages = report.push.stages.filter(s => s.status === 'pushed').length
    // every stage tag pushed and every final image, plus the base image pulled
    expect(log.filter(l => IMAGE_LINE.test(l))).toHaveLength(pushedStages + report.push.images.length + 1)
    expect(log.filter(l => BLOB_LINE.test(l))).toEqual([])
    expect(log).toContainEqual(expect.stringMatching(/^example: 13 stages built, 1 cached in \d+\.\ds; downloaded /))
    // nothing else: the stage, image and summary lines are the whole log
    expect(log.filter(l => !STAGE_LINE.test(l) && !IMAGE_LINE.test(l))).toEqual([
      expect.stringMatching(/^example: 13 stages built/),
      'stages: 13 pushed',
      expect.stringMatching(/^blobs: /),
      expect.stringMatching(/^uploaded /),
    ])

    // the stages as stages push sees them now: all there, their references and digests on stdout
    const again = await slipway(home, ['dimg', 'stages', 'push', `${reg.host}/out`])
    expect(again.code).toBe(0)
    const pushed = report.push.stages.map(s => `${s.image} ${s.digest}`)
    expect(lines(again.stdout).sort()).toEqual(pushed.sort())
    expect(lines(again.stderr)).toContain('stages: 13 already in the registry')
  }, 180_000)

  it('--json keeps the log on stderr and prints only the JSON on stdout; --quiet leaves only results', async () => {
    const home = homes.home()
    const built = await slipway(home, ['dimg', 'build', '--json'])
    expect(built.code).toBe(0)
    const report = JSON.parse(built.stdout) as {built: number; dimgs: {stages: unknown[]}[]}
    expect(report.built).toBe(13)
    expect(lines(built.stderr).filter(l => /: built \d/.test(l))).toHaveLength(13)

    const quietBuild = await slipway(home, ['dimg', 'build', '--quiet'])
    expect(quietBuild).toMatchObject({code: 0, stdout: '', stderr: ''})

    const quietPush = await slipway(home, ['dimg', 'push', `${reg.host}/quiet`, '-q'])
    expect(quietPush.code).toBe(0)
    expect(quietPush.stderr).toBe('')
    expect(lines(quietPush.stdout)).toEqual([expect.stringMatching(new RegExp(`^${reg.host}/quiet/web:latest sha256:`)), expect.stringMatching(new RegExp(`^${reg.host}/quiet/worker:latest sha256:`))])

    const listed = await slipway(home, ['dimg', 'stages', 'list', 'local', '--json', '--quiet'])
    expect(listed.stderr).toBe('')
    expect(JSON.parse(listed.stdout)).toHaveLength(13)
    const images = await runSlipway(['image', 'list', '--json'], {env: {SLIPWAY_HOME: home}})
    expect(JSON.parse(images.stdout).length).toBeGreaterThan(13)
    expect(images.stderr).toBe('')
  }, 180_000)

  it('--verbose adds a line per blob; stages pull prints the stage references it pulled', async () => {
    const home = homes.home()
    const r = await slipway(home, ['dimg', 'stages', 'pull', `${reg.host}/out`, '--verbose', '--json'])
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout) as BpReport['push']
    const blobLines = lines(r.stderr).filter(l => BLOB_LINE.test(l))
    expect(blobLines).toHaveLength(result.blobs.pulled)
    // every config and layer of the stages pulled, once
    const blobs = new Set<string>()
    for (const s of result.stages.filter(x => x.status === 'pulled')) {
      const m = JSON.parse(await readFile(join(home, 'store', 'blobs', 'sha256', s.digest!.slice(7)), 'utf8')) as {config: {digest: string}; layers: {digest: string}[]}
      for (const d of [m.config, ...m.layers]) blobs.add(d.digest)
    }
    expect(result.blobs.pulled).toBe(blobs.size)

    const fresh = homes.home()
    const plain = await slipway(fresh, ['dimg', 'stages', 'pull', `${reg.host}/out`])
    expect(lines(plain.stdout)).toEqual(result.stages.filter(s => s.status === 'pulled').map(s => `${s.image} ${s.digest}`))
    expect(lines(plain.stderr).filter(l => BLOB_LINE.test(l))).toEqual([])
    expect(lines(plain.stderr).filter(l => l.startsWith('pulled '))).toHaveLength(lines(plain.stdout).length)
  })

  it('image list shows the image size: its config and layers, as skopeo reads them from the store', async () => {
    const home = homes.home()
    expect((await slipway(home, ['dimg', 'build'])).code).toBe(0)
    const images = JSON.parse((await runSlipway(['image', 'list', '--json'], {env: {SLIPWAY_HOME: home}})).stdout) as {name: string; size: number; imageSize: number}[]
    const table = lines((await runSlipway(['image', 'list'], {env: {SLIPWAY_HOME: home}})).stdout)
    expect(table[0]).toMatch(/^NAME +DIGEST +SIZE$/)
    for (const image of images.slice(0, 3)) {
      const {stdout} = await runSkopeo(['inspect', '--raw', `oci:${join(home, 'store')}:${image.name}`])
      const manifest = JSON.parse(stdout) as {config: {size: number}; layers: {size: number}[]}
      const sum = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0)
      expect(image.imageSize).toBe(sum)
      expect(image.imageSize).not.toBe(image.size)
      expect(table).toContainEqual(expect.stringMatching(new RegExp(`^${image.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +sha256:[0-9a-f]{12} +${formatBytes(sum).replace('.', '\\.')}$`)))
    }
  })

  it('stages list fits USED BY to COLUMNS with "+N more"; --wide and a pipe show it whole', async () => {
    const home = homes.home()
    const repo = `${reg.host}/wide`
    const tags = ['one', 'two', 'three', 'four', 'five', 'six'].flatMap(t => ['--tag', t])
    expect((await slipway(home, ['dimg', 'bp', repo, ...tags, '-q'])).code).toBe(0)
    const list = (args: string[], env: Record<string, string> = {}) => slipway(home, ['dimg', 'stages', 'list', 'local', '--repo', repo, ...args], env)

    const whole = lines((await list([])).stdout)
    const webRow = whole.find(l => / web +docker /.test(l))!
    expect(webRow).toContain(['one', 'two', 'three', 'four', 'five', 'six'].map(t => `${repo}/web:${t}`).sort().join(', '))
    expect(whole.some(l => l.includes('more'))).toBe(false)

    const narrow = lines((await list([], {COLUMNS: '130'})).stdout)
    expect(narrow.every(l => l.length <= 130)).toBe(true)
    expect(narrow.find(l => / web +docker /.test(l))).toMatch(new RegExp(`${repo}/web:\\w+, \\+[1-5] more$`))

    const wide = lines((await list(['--wide'], {COLUMNS: '130'})).stdout)
    expect(wide).toEqual(whole)
    const json = JSON.parse((await list(['--json'], {COLUMNS: '130'})).stdout) as {stage: string; dimg: string; usedBy: string[]}[]
    expect(json.find(r => r.dimg === 'web' && r.stage === 'docker')!.usedBy).toHaveLength(6)
  }, 180_000)

  it('uncommitted changes to mapped files: one warning naming them, nothing rebuilt; none for excluded files or with --dev', async () => {
    const home = homes.home()
    expect((await slipway(home, ['dimg', 'build', '-q'])).code).toBe(0)
    await project.write({'web/index.html': '<p>changed, not committed</p>\n', 'web/new.txt': 'new\n', 'worker/README.md': 'excluded\n'})
    try {
      const r = await slipway(home, ['dimg', 'build', '--json'])
      expect(r.code).toBe(0)
      expect((JSON.parse(r.stdout) as {built: number}).built).toBe(0)
      const warnings = lines(r.stderr).filter(l => l.startsWith('warning:'))
      expect(warnings).toEqual(['warning: 2 mapped files have uncommitted changes (web/index.html, web/new.txt); they are not built: commit them, or build with --dev to build the work tree as it is'])

      const dev = await slipway(home, ['dimg', 'build', '--dev', '--json'])
      expect(dev.code).toBe(0)
      expect(dev.stderr).not.toContain('warning:')
      expect((JSON.parse(dev.stdout) as {built: number}).built).toBe(13) // a cache of its own: every stage, as stages list counts them
    } finally {
      await project.git(['checkout', '--', 'web/index.html', 'worker'])
      await project.git(['clean', '-fdq'])
    }
    const clean = await slipway(home, ['dimg', 'build'])
    expect(clean.stderr).not.toContain('warning:')
  }, 180_000)
})

describe('the live display on a terminal', () => {
  let reg: TestRegistry
  let project: TestProject
  const homes = freshHomes()
  const dimg = (name: string, command: string) => `dimg: ${name}\nfrom: localhost:5000/base/busybox:latest\nshell:\n  install: [${JSON.stringify(command)}]\n`
  beforeAll(async () => {
    reg = await startRegistry('plain')
    await pushBaseImage(reg)
    project = await makeProject({registryHost: reg.host, dappfile: [dimg('slow', 'sleep 3'), dimg('hang', 'sleep 60'), dimg('quick', 'echo quick')].join('---\n')})
  })
  afterAll(async () => {
    await reg?.stop()
    await homes.removeAll()
  })
  const inTerminal = (args: string[], env: Record<string, string | undefined> = {}) =>
    startSlipwayInTerminal([...args, '--dir', project.dir], {env: {SLIPWAY_HOME: homes.home(), ...reg.env(), ...env}, timeoutMs: 120_000})

  it('ticks through a sleep 3 stage: its elapsed time changes every second while its phase is named', async () => {
    const r = await inTerminal(['dimg', 'build', 'slow']).result
    expect(r.code).toBe(0)
    const seconds = new Set([...r.transcript.matchAll(/slow: install [0-9a-f]{12} running (\d+)s/g)].map(m => m[1]))
    expect(seconds.size).toBeGreaterThanOrEqual(3) // 0s, 1s, 2s (and 3s)
    // at least the 3 s it slept; a loaded machine may take 10 s or more
    expect(r.transcript).toMatch(/slow: install [0-9a-f]{12}: built ([3-9]|[1-9]\d+)\.\ds/)
    // the cursor is hidden while drawing and shown again after the last frame
    expect(r.transcript.indexOf('\x1b[?25l')).toBeGreaterThan(-1)
    expect(r.transcript.lastIndexOf('\x1b[?25h')).toBeGreaterThan(r.transcript.lastIndexOf('\x1b[?25l'))
  })

  it('Ctrl-C during a stage clears the live lines and leaves the cursor visible', async () => {
    const run = inTerminal(['dimg', 'build', 'hang'])
    const pid = await run.pid
    let ended = false
    void run.result.then(() => (ended = true), () => (ended = true))
    // Ctrl-C once the stage is seen running (however long the build takes to get there), not after a fixed wait
    while (!/hang: install [0-9a-f]{12} running [1-9]s/.test(await run.screen())) {
      if (ended) throw new Error(`the build ended before its stage was seen running:\n${(await run.result).transcript}`)
      await new Promise(r => setTimeout(r, 100))
    }
    process.kill(pid, 'SIGINT')
    const r = await run.result
    expect(r.code).toBe(130)
    const end = r.transcript.slice(r.transcript.lastIndexOf('running'))
    // after the last frame: its lines cleared (cursor up, erase down), the stage's end, the cursor shown, the one error line
    expect(end).toMatch(/^running \d+s\r?\n\x1b\[1A\x1b\[0J\x1b\[31mhang: install [0-9a-f]{12}: interrupted\x1b\[39m\r?\n\x1b\[\?25hslipway: interrupted \(SIGINT\); cleaned up\r?\n/)
    expect(r.transcript.lastIndexOf('\x1b[?25h')).toBeGreaterThan(r.transcript.lastIndexOf('\x1b[?25l'))
  }, 120_000)

  it.each([
    ['TERM=dumb', {TERM: 'dumb'}],
    ['NO_COLOR', {NO_COLOR: '1'}],
    ['CI=true', {CI: 'true'}],
  ])('%s on a terminal: plain lines, no escape sequence at all', async (_name, env) => {
    const r = await inTerminal(['dimg', 'build', 'quick'], env).result
    expect(r.code).toBe(0)
    expect(r.transcript).not.toContain('\x1b')
    expect(r.transcript).toMatch(/^quick: install [0-9a-f]{12}: built \d+\.\ds\r?$/m)
    expect(r.transcript).toContain('  [quick: install] quick')
  })
})
