// Fills a registry repository with a large stages cache for bench/cleanup.sh, through slipway's own
// RegistryClient (dist/ must be built):
//
//   node bench/fill-registry.mjs REGISTRY_HOST REPO_PATH PROJECT CHAINS STAGES_PER_CHAIN DIMGS USED_CHAINS FINALS_PER_CHAIN
//
// One shared layer and one shared config; CHAINS x STAGES_PER_CHAIN distinct stage manifests at
// REPO:dimgstage-<signature>, each labelled like a slipway stage (stageLabels) and linked to its parent, so
// every chain is one dimg-version; chain i belongs to dimg d<i % DIMGS>. The first USED_CHAINS chains get
// FINALS_PER_CHAIN final images each at REPO/<dimg>:v<i>-<k>, naming the chain's last stage; the other
// chains' stages are what `--improper-repo-cache` must delete. Stages are dated a day back.
// Prints one JSON line: {stages, finals, improper, seconds}.
import {createHash, randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'

import pLimit from 'p-limit'

import {stageLabels} from '../dist/naming/labels.js'
import {MediaType} from '../dist/oci/media-types.js'
import {RegistryClient} from '../dist/registry/index.js'

const [host, repoPath, project, chainsArg, perChainArg, dimgsArg, usedArg, finalsArg] = process.argv.slice(2)
if (!finalsArg) {
  console.error('usage: fill-registry.mjs HOST REPO_PATH PROJECT CHAINS STAGES_PER_CHAIN DIMGS USED_CHAINS FINALS_PER_CHAIN')
  process.exit(2)
}
const [chains, perChain, dimgs, used, finalsPerChain] = [chainsArg, perChainArg, dimgsArg, usedArg, finalsArg].map(Number)
const STAGE_NAMES = ['from', 'beforeInstall', 'importsBeforeInstall', 'gitArchive', 'install', 'importsAfterInstall', 'beforeSetup', 'importsBeforeSetup', 'setup', 'importsAfterSetup', 'gitLatestPatch', 'docker']
const JOBS = 32

const t0 = Date.now()
const client = new RegistryClient({env: {}, jobs: JOBS})
const repo = {registry: host, path: repoPath}
const sha256 = buf => `sha256:${createHash('sha256').update(buf).digest('hex')}`

const layerTar = Buffer.alloc(1024) // an empty tar archive: two zero blocks
const layer = gzipSync(layerTar)
const config = Buffer.from(
  JSON.stringify({architecture: 'amd64', os: 'linux', config: {}, rootfs: {type: 'layers', diff_ids: [sha256(layerTar)]}}),
)
const layerDesc = {mediaType: MediaType.OciLayerGzip, digest: sha256(layer), size: layer.length}
const configDesc = {mediaType: MediaType.OciConfig, digest: sha256(config), size: config.length}

async function pushBlobs(target, mountFrom) {
  for (const [desc, bytes] of [[layerDesc, layer], [configDesc, config]]) {
    await client.pushBlob(target, desc, () => Readable.from([bytes]), mountFrom ? {mountFrom: [mountFrom]} : {})
  }
}

function manifestBytes(annotations) {
  return Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDesc, layers: [layerDesc], annotations}))
}

await pushBlobs(repo)
const created = new Date(Date.now() - 24 * 3600_000).toISOString()
const limit = pLimit(JOBS)
const puts = []
const lastOfChain = []
for (let c = 0; c < chains; c++) {
  const dimg = `d${c % dimgs}`
  let parent = null
  for (let s = 0; s < perChain; s++) {
    const signature = randomBytes(32).toString('hex')
    const labels = stageLabels({
      signature,
      stage: STAGE_NAMES[s % STAGE_NAMES.length],
      parent,
      dimg,
      isArtifact: false,
      project,
      cacheVersion: '1',
      gitCommit: createHash('sha1').update(`commit ${c}`).digest('hex'),
      dev: false,
    })
    const bytes = manifestBytes({...labels, 'org.opencontainers.image.created': created})
    puts.push(limit(() => client.putManifest({...repo, tag: `dimgstage-${signature}`}, bytes, MediaType.OciManifest)))
    parent = signature
  }
  lastOfChain.push({dimg, signature: parent})
}
await Promise.all(puts)

const finalRepos = new Set()
const finalPuts = []
for (let c = 0; c < used; c++) {
  const {dimg, signature} = lastOfChain[c]
  const target = {registry: host, path: `${repoPath}/${dimg}`}
  if (!finalRepos.has(target.path)) {
    finalRepos.add(target.path)
    await pushBlobs(target, repoPath)
  }
  for (let k = 0; k < finalsPerChain; k++) {
    const bytes = manifestBytes({'dev.slipway.final.stage-signature': signature, 'dev.slipway.final.dimg': dimg, 'org.opencontainers.image.created': created, 'bench.tag': `v${c}-${k}`})
    finalPuts.push(limit(() => client.putManifest({...target, tag: `v${c}-${k}`}, bytes, MediaType.OciManifest)))
  }
}
await Promise.all(finalPuts)
await client.close()
console.log(JSON.stringify({stages: chains * perChain, finals: used * finalsPerChain, improper: (chains - used) * perChain, seconds: (Date.now() - t0) / 1000}))
