// bench/realistic.sh's table: medians per case and contender, the slipway/buildah ratios, peak RSS.
//   node bench/realistic/report.mjs RESULTS_TSV [LOGS_DIR]     (rows: round contender case seconds maxrss_kib)
// With LOGS_DIR, also slipway's seconds per stage in the cold builds (ROUND-slipway-cold.json there).
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {median} from '../median.mjs'

const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map(line => {
  const [round, contender, kase, seconds, rss] = line.split('\t')
  return {round: Number(round), contender, kase, seconds: Number(seconds), rss: Number(rss)}
})
const CASES = {cold: 'cold build', warm: 'warm no-op', onefile: 'one source file changed'}
const NAMES = {slipway: 'slipway', overlay: 'buildah overlay', vfs: 'buildah vfs'}
const contenders = Object.keys(NAMES).filter(c => rows.some(r => r.contender === c))
const cases = Object.keys(CASES).filter(k => rows.some(r => r.kase === k))
const pick = (c, k) => rows.filter(r => r.contender === c && r.kase === k)
const med = (c, k, f) => (pick(c, k).length ? median(pick(c, k).map(f)) : undefined)
const secs = x => (x === undefined ? '-' : `${x.toFixed(2)} s`)
const mib = x => (x === undefined ? '-' : `${Math.round(x / 1024)} MiB`)
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}×`)

const buildahs = contenders.filter(c => c !== 'slipway')
const head = ['case', ...contenders.map(c => NAMES[c]), ...buildahs.map(c => `slipway/${c}`)]
const lines = [head, head.map(() => '---')]
for (const k of cases) {
  const t = Object.fromEntries(contenders.map(c => [c, med(c, k, r => r.seconds)]))
  lines.push([CASES[k], ...contenders.map(c => secs(t[c])), ...buildahs.map(c => ratio(t.slipway, t[c]))])
}
for (const k of cases) {
  const m = Object.fromEntries(contenders.map(c => [c, med(c, k, r => r.rss)]))
  lines.push([`peak RSS, ${CASES[k]}`, ...contenders.map(c => mib(m[c])), ...buildahs.map(c => ratio(m.slipway, m[c]))])
}
const rounds = Math.max(...rows.map(r => r.round))
console.log(`medians of ${rounds} round(s); peak RSS is the largest process of each tool's tree (GNU time %M)\n`)
for (const l of lines) console.log(`| ${l.join(' | ')} |`)
console.log('\nall runs (seconds):')
for (const c of contenders) for (const k of cases) console.log(`  ${NAMES[c].padEnd(16)} ${k.padEnd(8)} ${pick(c, k).map(r => r.seconds.toFixed(2)).join('  ')}`)

const logs = process.argv[3]
const colds = logs ? pick('slipway', 'cold').map(r => join(logs, `${r.round}-slipway-cold.json`)).filter(f => existsSync(f)) : []
if (colds.length) {
  const reports = colds.map(f => JSON.parse(readFileSync(f, 'utf8')))
  const stages = reports[0].dimgs.flatMap(d => d.stages.map(s => s.name))
  const at = (r, i) => r.dimgs.flatMap(d => d.stages)[i]?.seconds ?? 0
  console.log(`\nslipway cold build, seconds per stage (median of ${reports.length}; the rest of the total is planning, pulls and saving):`)
  stages.forEach((name, i) => console.log(`  ${name.padEnd(16)} ${median(reports.map(r => at(r, i))).toFixed(2)}`))
  console.log(`  ${'total'.padEnd(16)} ${median(reports.map(r => r.seconds)).toFixed(2)}`)
}
