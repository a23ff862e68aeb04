import {createServer, request, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

/**
 * A loopback HTTP proxy in front of a real registry that misbehaves on purpose: answers 500 to the first
 * N matching requests, flips a byte in blob bodies, or cuts a blob body halfway.
 */
export interface Faults {
  /** Answer 500 (with Retry-After: 0) to this many requests matching `match` before forwarding. */
  failFirst?: number
  /** Flip one byte of every blob GET body. */
  corruptBlobs?: boolean
  /** Cut the first blob GET body (without Range) after this many bytes. */
  dropBlobAfter?: number
  match?: (req: IncomingMessage) => boolean
}

export interface FaultProxy {
  host: string
  faults: Faults
  /** Requests seen, as `METHOD path [range]`. */
  log: string[]
  stop(): Promise<void>
}

export async function startFaultProxy(target: string, faults: Faults = {}): Promise<FaultProxy> {
  const [targetHost, targetPort] = target.split(':')
  const log: string[] = []
  const state = {faults, failed: 0, dropped: false}
  const server: Server = createServer((req, res) => {
    const f = state.faults
    log.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`)
    const matches = f.match ? f.match(req) : true
    if (matches && (f.failFirst ?? 0) > state.failed) {
      state.failed++
      req.resume()
      res.writeHead(500, {'content-type': 'application/json', 'retry-after': '0'})
      res.end('{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}')
      return
    }
    const isBlobGet = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')
    const upstream = request({host: targetHost, port: Number(targetPort), method: req.method, path: req.url, headers: req.headers}, (up) => {
      if (isBlobGet && up.statusCode === 200 && f.corruptBlobs) {
        res.writeHead(up.statusCode, up.headers)
        let first = true
        up.on('data', (chunk: Buffer) => {
          if (first) {
            chunk = Buffer.from(chunk)
            chunk[0] ^= 0xff
            first = false
          }
          res.write(chunk)
        })
        up.on('end', () => res.end())
        return
      }
      if (isBlobGet && up.statusCode === 200 && f.dropBlobAfter !== undefined && !state.dropped && !req.headers.range) {
        state.dropped = true
        res.writeHead(up.statusCode, up.headers)
        let sent = 0
        up.on('data', (chunk: Buffer) => {
          const room = f.dropBlobAfter! - sent
          if (room <= 0) return
          res.write(chunk.subarray(0, room))
          sent += Math.min(room, chunk.length)
          if (sent >= f.dropBlobAfter!) {
            // Flush what was written, then kill the connection mid-body.
            setTimeout(() => { res.socket?.destroy(); up.destroy() }, 20)
          }
        })
        return
      }
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    host: `127.0.0.1:${port}`,
    get faults() { return state.faults },
    set faults(f: Faults) { state.faults = f; state.failed = 0; state.dropped = false },
    log,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}
