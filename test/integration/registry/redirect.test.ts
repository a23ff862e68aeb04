import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {sha256Digest} from '../../../src/oci/digest.js'
import {parseRepository} from '../../../src/oci/ref.js'
import {RegistryClient} from '../../../src/registry/index.js'
import {readAll} from './support.js'

/** A registry front that wants basic auth and redirects blob GETs to "storage" on another host. */
const content = Buffer.from('blob content behind a redirect')
const digest = sha256Digest(content)
let front: Server
let storage: Server
const seenByStorage: IncomingHttpHeaders[] = []
const seenByFront: IncomingHttpHeaders[] = []

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)))
}

let frontHost: string
beforeAll(async () => {
  storage = createServer((req, res) => {
    seenByStorage.push(req.headers)
    res.writeHead(200, {'content-length': content.length}).end(content)
  })
  const storagePort = await listen(storage, '127.0.0.2')
  front = createServer((req, res) => {
    seenByFront.push(req.headers)
    if (req.headers.authorization !== `Basic ${Buffer.from('u:redirect-pass').toString('base64')}`) {
      res.writeHead(401, {'www-authenticate': 'Basic realm="r"'}).end()
      return
    }
    res.writeHead(307, {location: `http://127.0.0.2:${storagePort}/storage/${digest}`}).end()
  })
  frontHost = `127.0.0.1:${await listen(front, '127.0.0.1')}`
})
afterAll(async () => {
  front.closeAllConnections()
  storage.closeAllConnections()
  await new Promise((r) => front.close(r))
  await new Promise((r) => storage.close(r))
})

it('follows a blob redirect to another host without sending Authorization there', async () => {
  const client = new RegistryClient({env: {}, credentials: {username: 'u', password: 'redirect-pass', registry: frontHost}})
  const got = await readAll(await client.getBlob(parseRepository(`${frontHost}/r/app`), digest, {size: content.length}))
  await client.close()
  expect(got.equals(content)).toBe(true)
  expect(seenByFront.some((h) => h.authorization?.startsWith('Basic '))).toBe(true)
  expect(seenByStorage).toHaveLength(1)
  expect(seenByStorage[0].authorization).toBeUndefined()
})
