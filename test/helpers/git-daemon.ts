import {spawn, type ChildProcess} from 'node:child_process'
import {createServer} from 'node:net'

/** `git daemon` serving every repository below `baseDir` read-only on loopback (git://127.0.0.1:PORT/…). */
export interface GitDaemon {
  /** git://127.0.0.1:PORT/<path relative to baseDir> */
  url(path: string): string
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

export async function startGitDaemon(baseDir: string): Promise<GitDaemon> {
  const port = await freePort()
  const child: ChildProcess = spawn('git', ['daemon', '--verbose', '--export-all', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, `--base-path=${baseDir}`, baseDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  await new Promise<void>((resolve, reject) => {
    let said = ''
    const timer = setTimeout(() => reject(new Error(`git daemon did not start: ${said}`)), 10_000)
    child.on('error', reject)
    child.on('exit', code => reject(new Error(`git daemon exited with ${code}: ${said}`)))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      said += d
      if (said.includes('Ready to rumble')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return {
    url: path => `git://127.0.0.1:${port}/${path.replace(/^\/+/, '')}`,
    stop: () =>
      new Promise(resolve => {
        if (child.exitCode !== null) return resolve()
        child.removeAllListeners('exit')
        child.on('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
