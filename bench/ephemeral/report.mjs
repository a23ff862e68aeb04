// Summarises bench/ephemeral.sh measurements: per project, case and contender the medians over rounds of
// wall time, bytes downloaded (blobs; of them layers) and uploaded, from the registry's side; then the
// issue-15 targets. Exits 1 when a target is missed.
//   node report.mjs RESULTS_TSV
// Each line: round project case contender seconds blob_down layer_down blob_up stage_bytes requests
import {readFileSync} from 'node:fs'

import {median} from '../median.mjs'

const rows = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map(line => {
  const [round, project, kase, contender, ...n] = line.split('\t')
  const [seconds, down, layersDown, up, stageBytes, requests] = n.map(Number)
  return {round: Number(round), project, kase, contender, seconds, down, layersDown, up, stageBytes, requests}
})
if (rows.length === 0) {
  console.log('no measurements (ROUNDS=0?)')
  process.exit(0)
}

const mib = bytes => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`)
const pad = (s, n) => String(s).padEnd(n)
const lpad = (s, n) => String(s).padStart(n)

const CASES = ['nochange', 'source', 'deps']
const CONTENDERS = ['native', 'pull', 'buildah']
const LABELS = {native: 'slipway registry-native', pull: 'slipway stages pull + bp', buildah: 'buildah --cache-from/to + push'}
const of = (project, kase, contender) => rows.filter(r => r.project === project && r.kase === kase && r.contender === contender)
const med = (project, kase, contender, key) => {
  const xs = of(project, kase, contender).map(r => r[key])
  return xs.length ? median(xs) : undefined
}

const rounds = new Set(rows.map(r => r.round)).size
console.log(`\nbench/ephemeral.sh — an empty runner per run, ${rounds} round(s), medians; bytes counted from the registry's log`)
console.log('down = blob bytes downloaded (layers + configs), layers = of them layer bytes, up = blob bytes uploaded,')
console.log("stage = distinct layer bytes of REPO's stage images before the run (slipway dimgstage-*, buildah's cache repo)\n")
for (const project of new Set(rows.map(r => r.project))) {
  console.log(`${project}`)
  console.log(`  ${pad('case', 10)}${pad('contender', 32)}${lpad('time', 9)}${lpad('down', 13)}${lpad('layers', 13)}${lpad('up', 13)}${lpad('stage', 13)}${lpad('down/stage', 12)}`)
  for (const kase of CASES) {
    for (const contender of CONTENDERS) {
      if (of(project, kase, contender).length === 0) continue
      const m = key => med(project, kase, contender, key)
      const share = m('stageBytes') > 0 ? `${((100 * m('down')) / m('stageBytes')).toFixed(1)}%` : 'n/a'
      console.log(`  ${pad(kase, 10)}${pad(LABELS[contender], 32)}${lpad(`${m('seconds').toFixed(2)}s`, 9)}${lpad(mib(m('down')), 13)}${lpad(mib(m('layersDown')), 13)}${lpad(mib(m('up')), 13)}${lpad(mib(m('stageBytes')), 13)}${lpad(share, 12)}`)
    }
  }
  console.log('')
}

let failed = 0
const verdict = (ok, text) => {
  if (!ok) failed++
  console.log(`  ${ok ? 'ok  ' : 'MISS'} ${text}`)
}
console.log('targets (issue 15)')
for (const project of new Set(rows.map(r => r.project))) {
  const native = med(project, 'nochange', 'native', 'seconds')
  const pull = med(project, 'nochange', 'pull', 'seconds')
  if (native !== undefined && pull !== undefined) {
    const ratio = native / pull
    verdict(ratio <= 0.3, `${project}: no-change registry-native / pull-then-build time = ${ratio.toFixed(2)} (target <= 0.3)`)
  }
  for (const kase of ['nochange', 'source']) {
    const down = med(project, kase, 'native', 'down')
    const stage = med(project, kase, 'native', 'stageBytes')
    if (down === undefined || !stage) continue
    const share = (100 * down) / stage
    verdict(share < 1, `${project}: ${kase} registry-native downloads ${share.toFixed(2)}% of the stage bytes (${mib(down)} of ${mib(stage)}; target < 1%)`)
  }
}
process.exit(failed ? 1 : 0)
