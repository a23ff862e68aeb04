// Registry traffic for bench/ephemeral.sh, counted from the registry's side with the tests' parser
// (test/helpers/registry-traffic.ts, loaded through test/helpers/ts-loader.mjs).
//   node traffic.mjs mark URL LOG STORAGE                → prints a log offset
//   node traffic.mjs since URL LOG STORAGE OFFSET        → prints: blob_bytes_down layer_bytes_down blob_bytes_up requests
//   node traffic.mjs layer-bytes URL LOG STORAGE REPO PREFIX → prints the distinct layer bytes of REPO's tags starting with PREFIX
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
await import(join(root, 'test', 'helpers', 'ts-loader.mjs'))
const {markTraffic, registryTraffic, storedLayerBytes} = await import(join(root, 'test', 'helpers', 'registry-traffic.ts'))

const [verb, url, logFile, storageDir, ...rest] = process.argv.slice(2)
const reg = {url, logFile, storageDir}
if (verb === 'mark') {
  console.log((await markTraffic(reg)).offset)
} else if (verb === 'since') {
  const t = await registryTraffic(reg, {offset: Number(rest[0])})
  console.log(`${t.blobBytesDownloaded} ${t.layerBytesDownloaded} ${t.blobBytesUploaded} ${t.requests}`)
} else if (verb === 'layer-bytes') {
  console.log(await storedLayerBytes(reg, rest[0], rest[1] ?? ''))
} else {
  console.error('usage: traffic.mjs mark|since|layer-bytes URL LOG STORAGE ...')
  process.exit(2)
}
