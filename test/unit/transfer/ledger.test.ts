import type {Digest} from '../../../src/oci/digest.js'
import {TransferLedger} from '../../../src/transfer/index.js'

const digest = `sha256:${'a'.repeat(64)}` as Digest
const repo = (path: string, registry = 'r.example') => ({registry, path})

describe('TransferLedger', () => {
  it('a second send of a blob to the registry waits for the first and is told where it went', async () => {
    const ledger = new TransferLedger()
    let finishFirst!: () => void
    const order: string[] = []
    const first = ledger.place(repo('app'), digest, async holders => {
      order.push(`first starts, holders ${holders.join(',') || '-'}`)
      await new Promise<void>(resolve => (finishFirst = resolve))
      order.push('first ends')
      return 'uploaded'
    })
    const second = ledger.place(repo('app/web'), digest, async holders => {
      order.push(`second starts, holders ${holders.join(',')}`)
      return 'mounted'
    })
    await new Promise(resolve => setImmediate(resolve))
    finishFirst()
    expect(await Promise.all([first, second])).toEqual(['uploaded', 'mounted'])
    expect(order).toEqual(['first starts, holders -', 'first ends', 'second starts, holders app'])
  })

  it('a blob already placed in a repository is `exists` without a send; other registries are separate', async () => {
    const ledger = new TransferLedger()
    await ledger.place(repo('app'), digest, async () => 'uploaded')
    let sent = 0
    expect(await ledger.place(repo('app'), digest, async () => (sent++, 'uploaded'))).toBe('exists')
    expect(sent).toBe(0)
    expect(await ledger.place(repo('app', 'other.example'), digest, async holders => (holders.length === 0 ? 'uploaded' : 'mounted'))).toBe('uploaded')
  })

  it('after a failed send the next one sends itself', async () => {
    const ledger = new TransferLedger()
    const failing = ledger.place(repo('app'), digest, async () => {
      throw new Error('network')
    })
    const next = ledger.place(repo('app/web'), digest, async holders => (holders.length === 0 ? 'uploaded' : 'mounted'))
    await expect(failing).rejects.toThrow('network')
    expect(await next).toBe('uploaded')
  })

  it('counts bytes up and down by outcome', () => {
    const ledger = new TransferLedger()
    for (const outcome of ['uploaded', 'copied', 'pulled', 'mounted', 'exists', 'present'] as const) ledger.count({digest, size: 10, outcome})
    expect(ledger.totals).toEqual({uploaded: 1, copied: 1, mounted: 1, exists: 1, pulled: 1, present: 1, bytesUploaded: 20, bytesDownloaded: 20})
  })
})
