import {spawn} from 'node:child_process'

import {SlipwayError} from '../../errors.js'
import {redactSecrets} from '../../redact.js'

export interface HelperCredential {
  username: string
  secret: string
}

/**
 * Runs `docker-credential-<helper> get` with the server URL on stdin (the docker credential helper
 * protocol). Undefined when the helper has nothing for that server.
 */
export function runCredentialHelper(helper: string, serverUrl: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<HelperCredential | undefined> {
  const program = `docker-credential-${helper}`
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], {env, stdio: ['pipe', 'pipe', 'pipe']})
    // Our own timer: spawn's `timeout` option leaks its timer when the program does not exist.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    timer.unref()
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(e.code === 'ENOENT'
        ? new SlipwayError('auth', `docker credential helper ${program} (named in docker config.json) is not installed`, {
          hint: `install ${program} or remove "${helper}" from credHelpers/credsStore in config.json`,
        })
        : new SlipwayError('auth', `cannot run ${program}: ${e.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        if (/credentials not found/i.test(out + err)) return resolve(undefined)
        const why = redactSecrets((err || out).trim().split('\n')[0] ?? '')
        return reject(new SlipwayError('auth', `${program} get failed for ${serverUrl}${signal ? ` (killed by ${signal})` : ` (exit ${code})`}${why ? `: ${why}` : ''}`))
      }
      try {
        const doc = JSON.parse(out) as {Username?: unknown; Secret?: unknown}
        if (typeof doc.Secret !== 'string' || doc.Secret === '') return resolve(undefined)
        resolve({username: typeof doc.Username === 'string' ? doc.Username : '', secret: doc.Secret})
      } catch {
        reject(new SlipwayError('auth', `${program} get printed something that is not JSON for ${serverUrl}`))
      }
    })
    child.stdin.on('error', () => { /* the helper may exit before reading; its exit status tells */ })
    child.stdin.end(serverUrl)
  })
}
