// Summarises bench/transfer.sh measurements: per-case medians, slipway/skopeo ratios against the issue-6
// targets, slipway's peak RSS and its flatness as layers grow.
//   node report.mjs RESULTS_TSV
// Each line of RESULTS_TSV: round case tool seconds rss_kb requests heads   (rss_kb "-" when not measured)
import {readFileSync} from 'node:fs'

import {median} from '../median.mjs'

const file = process.argv[2]
const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(line => {
  const [round, kase, tool, seconds, rss, requests, heads] = line.split('\t')
  return {round: Number(round), kase, tool, seconds: Number(seconds), rssKb: rss === '-' ? undefined : Number(rss), requests: Number(requests), heads: Number(heads)}
})

if (rows.length === 0) {
  console.log('no measurements (ROUNDS=0?)')
  process.exit(0)
}

const mb = kb => kb / 1024

const CASES = [
  {kase: 'push-big', label: 'push 4 x 40 MiB chain', target: 0.7},
  {kase: 'pull-big', label: 'pull 4 x 40 MiB chain', target: 0.7},
  {kase: 'push-small', label: 'push 50 x 1 MiB chain', target: 0.7},
  {kase: 'pull-small', label: 'pull 50 x 1 MiB chain', target: 0.7},
  {kase: 'repush-small', label: 'repeated push, all present', target: 0.5},
]
const RSS_LIMIT_MB = 150

let failed = 0
const pad = (s, n) => String(s).padEnd(n)
const lpad = (s, n) => String(s).padStart(n)
const rounds = new Set(rows.map(r => r.round)).size
console.log(`\nbench/transfer.sh — ${rounds} round(s), medians (seconds); requests = registry requests of one run (HEAD among them)\n`)
console.log(`${pad('case', 28)}${lpad('slipway', 9)}${lpad('skopeo', 9)}${lpad('ratio', 8)}${lpad('target', 8)}  ${pad('', 5)}${lpad('slipway req (HEAD)', 20)}${lpad('skopeo req (HEAD)', 19)}`)
for (const c of CASES) {
  const of = tool => rows.filter(r => r.kase === c.kase && r.tool === tool)
  const s = of('slipway')
  const k = of('skopeo')
  if (s.length === 0 || k.length === 0) continue
  const ms = median(s.map(r => r.seconds))
  const mk = median(k.map(r => r.seconds))
  const ratio = ms / mk
  const ok = ratio <= c.target
  if (!ok) failed++
  const req = xs => `${median(xs.map(r => r.requests))} (${median(xs.map(r => r.heads))})`
  console.log(`${pad(c.label, 28)}${lpad(ms.toFixed(2), 9)}${lpad(mk.toFixed(2), 9)}${lpad(ratio.toFixed(2), 8)}${lpad(`<= ${c.target}`, 8)}  ${pad(ok ? 'ok' : 'MISS', 5)}${lpad(req(s), 20)}${lpad(req(k), 19)}`)
}

const startup = rows.filter(r => r.kase === 'startup')
if (startup.length) {
  console.log(`\nfor reference: a slipway process that only plans (stages push --dry-run, 50 stages): ${median(startup.map(r => r.seconds)).toFixed(2)} s median, ${mb(median(startup.map(r => r.rssKb))).toFixed(1)} MB`)
}

const floor = (kase, tool = 'curl') => rows.filter(r => r.kase === kase && r.tool === tool).map(r => r.seconds)
const caseMedian = (kase, tool) => median(rows.filter(r => r.kase === kase && r.tool === tool).map(r => r.seconds))
if (floor('floor-push-big').length) {
  console.log(`the 4 x 40 MiB layers moved by curl alone, all at once (no hashing, no fsync, no start-up): push ${median(floor('floor-push-big')).toFixed(2)} s, pull ${median(floor('floor-pull-big')).toFixed(2)} s median`)
  const nodeReceive = floor('floor-pull-big', 'node')
  const nodeHash = floor('floor-pull-big', 'node-sha256')
  if (nodeReceive.length && nodeHash.length) {
    console.log(`the same pull inside one Node.js process through undici (no start-up, no writes): ${median(nodeReceive).toFixed(2)} s, with sha256 of every byte ${median(nodeHash).toFixed(2)} s median`)
  }
  console.log(`node -e 0 on this machine: ${process.env.NODE_START ?? '?'} s`)
  // the least a run can take: a planning process, then the bytes at the floor's speed (nothing written)
  if (startup.length) {
    const plan = median(startup.map(r => r.seconds))
    const bound = (label, kase, bytes) => {
      const least = plan + bytes
      const allowed = 0.7 * caseMedian(kase, 'skopeo')
      console.log(`  ${pad(label, 26)} planning ${plan.toFixed(2)} + transfer floor ${bytes.toFixed(2)} = ${least.toFixed(2)} s; 0.7 x skopeo = ${allowed.toFixed(2)} s`)
    }
    console.log('least a big-layer run could take (start-up and planning, then the bytes at their floor, nothing written to disk):')
    bound('push 4 x 40 MiB (curl)', 'push-big', median(floor('floor-push-big')))
    if (nodeHash.length) bound('pull 4 x 40 MiB (node+sha)', 'pull-big', median(nodeHash))
  }
}

const slipwayRss = rows.filter(r => r.tool === 'slipway' && r.kase !== 'startup' && r.rssKb !== undefined)
const peak = Math.max(...slipwayRss.map(r => r.rssKb))
const peakOk = mb(peak) < RSS_LIMIT_MB
if (!peakOk) failed++
console.log(`\nslipway peak RSS over all runs: ${mb(peak).toFixed(1)} MB (target < ${RSS_LIMIT_MB} MB)  ${peakOk ? 'ok' : 'MISS'}`)
for (const c of CASES) {
  const xs = slipwayRss.filter(r => r.kase === c.kase).map(r => r.rssKb)
  if (xs.length) console.log(`  ${pad(c.label, 28)} peak RSS median ${mb(median(xs)).toFixed(1)} MB, max ${mb(Math.max(...xs)).toFixed(1)} MB`)
}
const rssOf = kase => median(slipwayRss.filter(r => r.kase === kase).map(r => r.rssKb))
const big = rssOf('push-big')
const small = rssOf('push-small')
// flat: 40 MiB layers may not cost more than a few MB over 1 MiB layers (a buffered layer would add >= 40 MB)
const flatOk = mb(big - small) < 20
if (!flatOk) failed++
console.log(`memory as layers grow (push): 4 x 40 MiB ${mb(big).toFixed(1)} MB vs 50 x 1 MiB ${mb(small).toFixed(1)} MB (difference must stay < 20 MB)  ${flatOk ? 'ok' : 'MISS'}`)
const pbig = rssOf('pull-big')
const psmall = rssOf('pull-small')
const pflatOk = mb(pbig - psmall) < 20
if (!pflatOk) failed++
console.log(`memory as layers grow (pull): 4 x 40 MiB ${mb(pbig).toFixed(1)} MB vs 50 x 1 MiB ${mb(psmall).toFixed(1)} MB (difference must stay < 20 MB)  ${pflatOk ? 'ok' : 'MISS'}`)
console.log(failed ? `\n${failed} target(s) missed` : '\nall targets met')
process.exitCode = failed ? 1 : 0
