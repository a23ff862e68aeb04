// A caching HTTP proxy on loopback for apt (bench/realistic.sh): every GET is answered from DIR when it has
// the URL, else fetched upstream and kept when the answer is a whole 200. Both tools' apt-get go through
// it, so after the warm-up build neither waits on deb.debian.org and both get the same bytes.
//   node bench/realistic/apt-proxy.mjs DIR PORT_FILE    writes its port to PORT_FILE, logs "hit|miss|pass STATUS BYTES URL"
import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {createServer, request} from 'node:http'
import {join} from 'node:path'

const [dir, portFile] = process.argv.slice(2)
mkdirSync(dir, {recursive: true})
const KEPT_HEADERS = ['content-type', 'last-modified', 'etag']
let fills = 0

const server = createServer((req, res) => {
  const url = req.url ?? ''
  if (req.method !== 'GET' || !url.startsWith('http://')) {
    res.writeHead(405).end()
    return
  }
  const key = join(dir, createHash('sha256').update(url).digest('hex'))
  if (existsSync(key)) {
    const headers = JSON.parse(readFileSync(`${key}.json`, 'utf8'))
    const size = statSync(key).size
    res.writeHead(200, {...headers, 'content-length': size})
    createReadStream(key).pipe(res)
    console.log(`hit 200 ${size} ${url}`)
    return
  }
  const headers = {...req.headers}
  delete headers['proxy-connection']
  const upstream = request(url, {headers: {...headers, connection: 'close'}}, up => {
    const whole = up.statusCode === 200 && !req.headers.range
    res.writeHead(up.statusCode ?? 502, up.headers)
    if (!whole) {
      up.pipe(res)
      console.log(`pass ${up.statusCode} - ${url}`)
      return
    }
    const part = `${key}.part${++fills}`
    const file = createWriteStream(part)
    let bytes = 0
    up.on('data', chunk => {
      bytes += chunk.length
      file.write(chunk)
      res.write(chunk)
    })
    up.on('end', () => {
      res.end()
      file.end(() => {
        const kept = Object.fromEntries(KEPT_HEADERS.filter(h => up.headers[h]).map(h => [h, up.headers[h]]))
        writeFileSync(`${key}.json`, JSON.stringify(kept))
        renameSync(part, key)
        console.log(`miss 200 ${bytes} ${url}`)
      })
    })
  })
  upstream.on('error', e => {
    console.log(`pass 502 - ${url} (${e.message})`)
    if (!res.headersSent) res.writeHead(502)
    res.end()
  })
  upstream.end()
})
server.listen(0, '127.0.0.1', () => {
  const {port} = server.address()
  writeFileSync(portFile, String(port))
})
