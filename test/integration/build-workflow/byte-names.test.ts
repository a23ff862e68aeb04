/**
 * File names that are not UTF-8 are kept byte for byte: in the layer a shell stage makes (and when that
 * layer is unpacked again), in git layers (two paths differing only in such bytes stay two files) and in
 * base-image layers (ustar, GNU long-name and PAX headers). Tars are read back with GNU tar.
 */
import {spawn} from 'node:child_process'
import {mkdir, readFile, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'

import {pushLayerImage} from '../../helpers/base-image.js'
import {makeProject} from '../../helpers/project.js'
import {useRegistry} from '../../helpers/registry.js'
import {makeTempDir} from '../../helpers/tmp.js'
import {build, buildEnv, finalStageName, manifestOf, readBlob} from './support.js'

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')
const LONG = 'n'.repeat(150)

function gnuTar(args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args)
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    child.on('error', reject)
    child.on('close', code => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`tar ${args.join(' ')}: ${err}`))))
    child.stdin.end(input)
  })
}

/** The entry names of a layer blob as GNU tar lists them, as raw bytes. */
async function layerNames(blob: Buffer): Promise<Buffer[]> {
  const tar = blob[0] === 0x1f ? gunzipSync(blob) : blob
  const out = await gnuTar(['--quoting-style=literal', '-tf', '-'], tar)
  const names: Buffer[] = []
  for (let start = 0, nl; (nl = out.indexOf(10, start)) !== -1; start = nl + 1) names.push(out.subarray(start, nl))
  return names
}

function hasName(names: Buffer[], name: Buffer): boolean {
  return names.some(n => n.equals(name))
}

/** printf in busybox sh turns \ooo into the byte: these are shell words for the raw names. */
const sh = (name: string): string => `"$(printf '${[...bytes(name)].map(b => (b < 0x80 && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`)).join('')}')"`

describe('non-UTF-8 file names', () => {
  const setup = useRegistry({base: true})

  it("a shell stage's files keep their byte names in its layer, and come back when the layer is unpacked", async () => {
    const make = [
      `touch ${sh('/caf\xff\xfe')} ${sh('/caf\xfe\xff')}`,
      `mkdir ${sh('/d\xff')} && printf data > ${sh('/d\xff/f\x80')}`,
      `ln -s ${sh('t\xff')} ${sh('/l\xff')}`,
      `touch ${sh(`/d\xff/${LONG}\xff`)}`,
    ]
    const dappfile = (check: string): string => `from: ${setup.base}\nshell:\n  install:\n${make.map(c => `    - ${JSON.stringify(c)}`).join('\n')}\n  setup: [${JSON.stringify(check)}]\n`
    const project = await makeProject({registryHost: setup.reg.host, dappfile: dappfile('true')})
    const env = buildEnv(setup.reg, setup.home)
    await build(project.dir, env)
    // the install stage's layer is the one before setup's (which changed nothing)
    const report = await build(project.dir, env)
    const manifest = await manifestOf(setup.home, finalStageName(report, report.dimgs[0]!.listedAs))
    const names = (await Promise.all(manifest.layers.map(async l => layerNames(await readBlob(setup.home, l.digest))))).flat()
    for (const name of ['caf\xff\xfe', 'caf\xfe\xff', 'd\xff/', 'd\xff/f\x80', 'l\xff', `d\xff/${LONG}\xff`]) expect([name, hasName(names, bytes(name))]).toEqual([name, true])
    expect(names.filter(n => n.includes(Buffer.from('\uFFFD')))).toEqual([])

    // a new setup stage runs on the install stage unpacked from the store: the files must be there, byte for byte
    const check = `test -f ${sh('/caf\xff\xfe')} && test -f ${sh('/caf\xfe\xff')} && test "$(cat ${sh('/d\xff/f\x80')})" = data && test "$(readlink ${sh('/l\xff')})" = ${sh('t\xff')} && test -f ${sh(`/d\xff/${LONG}\xff`)}`
    await project.commit('check the names', {'dappfile.yaml': dappfile(check)})
    await build(project.dir, env)
  })

  it('two git paths that differ only in non-UTF-8 bytes stay two files in the git layer', async () => {
    const dappfile = `from: ${setup.base}\ngit:\n  - add: /web\n    to: /app\nshell:\n  install: [${JSON.stringify(`test "$(cat ${sh('/app/a\xff')})" = one && test "$(cat ${sh('/app/a\xfe')})" = two`)}]\n`
    const project = await makeProject({registryHost: setup.reg.host, dappfile})
    await project.commitRawTree('raw names', [
      {name: 'dappfile.yaml', content: dappfile},
      {name: 'web', tree: [{name: bytes('a\xff'), content: 'one'}, {name: bytes('a\xfe'), content: 'two'}]},
    ])
    const report = await build(project.dir, buildEnv(setup.reg, setup.home))
    const manifest = await manifestOf(setup.home, finalStageName(report, report.dimgs[0]!.listedAs))
    const names = (await Promise.all(manifest.layers.map(async l => layerNames(await readBlob(setup.home, l.digest))))).flat()
    expect(names.filter(n => n.subarray(0, 5).equals(Buffer.from('app/a'))).map(n => n.toString('latin1')).sort()).toEqual(['app/a\xfe', 'app/a\xff'])
  })

  it.each(['gnu', 'posix', 'ustar'])('a base-image layer written by GNU tar (%s format) unpacks to exactly its byte names', async format => {
    const src = join(await makeTempDir('byte-names'), 'root')
    await mkdir(join(src, 'bin'), {recursive: true})
    await writeFile(join(src, 'bin/busybox'), await readFile('/bin/busybox'), {mode: 0o755})
    await symlink('busybox', join(src, 'bin/sh'))
    await writeFile(Buffer.from(`${src}/p\xff\xfe`, 'latin1'), format)
    if (format !== 'ustar') await writeFile(Buffer.from(`${src}/${LONG}\xff`, 'latin1'), 'long')
    const layer = await gnuTar(['--format', format, '-C', src, '-cf', '-', '.'], Buffer.alloc(0))
    const ref = await pushLayerImage(setup.reg, `byte-names-${format}`, layer)
    const checks = [`test "$(cat ${sh('/p\xff\xfe')})" = ${format}`, ...(format === 'ustar' ? [] : [`test "$(cat ${sh(`/${LONG}\xff`)})" = long`])]
    const project = await makeProject({registryHost: setup.reg.host, dappfile: `from: ${ref}\nshell:\n  install: [${JSON.stringify(checks.join(' && '))}]\n`})
    await build(project.dir, buildEnv(setup.reg, setup.home))
  })
})
