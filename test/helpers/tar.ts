/** Tar archives built in a test, entry by entry (tar-stream's packer), hostile headers included. */
import tar from 'tar-stream'

export type TarEntryHeader = Partial<tar.Header> & {name: string}

export interface TarEntry {
  header: TarEntryHeader
  content?: string | Buffer
}

/** A tar of exactly these entries, in this order. Unset header fields: mode 0644, mtime 0, owner 0:0. */
export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer)
  })()
  for (const e of entries) {
    const content = e.content === undefined ? undefined : Buffer.from(e.content)
    const header: TarEntryHeader = {mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, ...e.header, ...(content ? {size: content.length} : {})}
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (content) pack.entry(header, content, done)
      else pack.entry(header, done)
    })
  }
  pack.finalize()
  await collected
  return Buffer.concat(chunks)
}
