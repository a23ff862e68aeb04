// The report of bench/compress.sh: node report.mjs WORK TAR_BYTES DISTINCT_SLIPWAY_OUTPUTS
// WORK/<name>.times holds one "seconds bytes cpu-seconds" line per round.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {median} from '../median.mjs'

const [work, tarBytes, distinct] = process.argv.slice(2)
const tar = Number(tarBytes)
const runs = name => readFileSync(join(work, `${name}.times`), 'utf8').trim().split('\n').map(l => l.split(' ').map(Number))
const m = name => {
  const r = runs(name)
  return {s: median(r.map(x => x[0])), bytes: median(r.map(x => x[1])), cpu: median(r.map(x => x[2])), rounds: r.length}
}
const mb = n => (n / 1e6).toFixed(1)
const fmt = (s, n = 2) => s.toFixed(n)

const rows = ['slipway', 'single', 'gzip', 'pigz'].map(name => ({name, ...m(name)}))
const by = Object.fromEntries(rows.map(r => [r.name, r]))
console.log(`\ncompressing a ${mb(tar)} MB layer tar (${by.slipway.rounds} rounds, medians)`)
console.log('| contender | seconds | CPU seconds | MB/s in | output MB | output/input |')
console.log('| --- | --- | --- | --- | --- | --- |')
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.s)} | ${fmt(r.cpu)} | ${fmt(tar / 1e6 / r.s, 0)} | ${mb(r.bytes)} | ${fmt(r.bytes / tar, 4)} |`)
console.log(`slipway/gzip -6 time ${fmt(by.slipway.s / by.gzip.s)}x, slipway/pigz -6 ${fmt(by.slipway.s / by.pigz.s)}x, slipway/single-stream ${fmt(by.slipway.s / by.single.s)}x`)
console.log(`size: slipway ${fmt((by.slipway.bytes / by.single.bytes - 1) * 100)}% against one zlib stream at level 6, ${fmt((by.slipway.bytes / by.gzip.bytes - 1) * 100)}% against gzip -6`)
console.log(`deterministic: ${distinct === '1' ? 'yes' : 'NO'} (${distinct} distinct output(s) over the rounds and one run with SLIPWAY_GZIP_WORKERS=1)`)

const wg = m('write-gzip')
const wn = m('write-none')
const pg = m('push-gzip')
const pn = m('push-none')
console.log('\nslipway layer writer on the unpacked root, and the upload of its blob to a local registry')
console.log('| | write s | write CPU s | blob MB | upload s |')
console.log('| --- | --- | --- | --- | --- |')
console.log(`| gzip | ${fmt(wg.s)} | ${fmt(wg.cpu)} | ${mb(wg.bytes)} | ${fmt(pg.s)} |`)
console.log(`| none | ${fmt(wn.s)} | ${fmt(wn.cpu)} | ${mb(wn.bytes)} | ${fmt(pn.s)} |`)
console.log('\ncompress at build (what slipway does) against store uncompressed and compress on push')
console.log('| | cold build: layer writing s | push s | total s | local store MB |')
console.log('| --- | --- | --- | --- | --- |')
console.log(`| compress at build | ${fmt(wg.s)} | ${fmt(pg.s)} | ${fmt(wg.s + pg.s)} | ${mb(wg.bytes)} |`)
console.log(`| compress on push | ${fmt(wn.s)} | ${fmt(by.slipway.s + pg.s)} (compress ${fmt(by.slipway.s)} + upload) | ${fmt(wn.s + by.slipway.s + pg.s)} | ${mb(wn.bytes)} |`)
if (distinct !== '1') process.exit(1)
