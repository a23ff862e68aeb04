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

class PortTakenError extends Error {}

/** Starts `git daemon` on `port`; resolves once it listens. */
function launch(baseDir: string, port: number): Promise<ChildProcess> {
  const child: ChildProcess = spawn('git', ['daemon', '--verbose', '--export-all', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, `--base-path=${baseDir}`, baseDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  return new Promise<ChildProcess>((resolve, reject) => {
    let said = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`git daemon did not start: ${said}`))
    }, 10_000)
    child.on('error', reject)
    child.on('exit', code => {
      clearTimeout(timer)
      // the port was free when freePort looked; another process may have bound it since
      const Failure = /unable to allocate any listen sockets|Address already in use/.test(said) ? PortTakenError : Error
      reject(new Failure(`git daemon exited with ${code}: ${said}`))
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      said += d
      if (said.includes('Ready to rumble')) {
        clearTimeout(timer)
        resolve(child)
      }
    })
  })
}

export async function startGitDaemon(baseDir: string): Promise<GitDaemon> {
  let port = 0
  let child: ChildProcess | undefined
  for (let attempt = 1; child === undefined; attempt++) {
    port = await freePort()
    try {
      child = await launch(baseDir, port)
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error
    }
  }
  const running = child
  return {
    url: path => `git://127.0.0.1:${port}/${path.replace(/^\/+/, '')}`,
    stop: () =>
      new Promise(resolve => {
        if (running.exitCode !== null || running.signalCode !== null) return resolve()
        running.removeAllListeners('exit')
        running.on('exit', () => resolve())
        running.kill('SIGTERM')
      }),
  }
}
