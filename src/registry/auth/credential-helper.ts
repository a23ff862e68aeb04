import {spawn} from 'node:child_process'

import {SlipwayError} from '../../errors.js'
import {redactSecrets} from '../../redact.js'

export interface HelperCredential {
  username: string
  secret: string
}

/** Where the helper was named, for messages ("docker config /root/.docker/config.json"). */
type HelperRun = {helper: string; namedIn: string; env: NodeJS.ProcessEnv; timeoutMs: number}

/** What the helper printed when it succeeded; `notFound` when it said it has nothing for the server. */
type HelperAnswer = {ok: true; out: string} | {ok: false; notFound: true}

/**
 * Runs `docker-credential-<helper> ACTION` with `input` on stdin (the docker credential helper protocol,
 * github.com/docker/docker-credential-helpers): `get` and `erase` take the server URL, `store` a JSON
 * document {ServerURL, Username, Secret}.
 */
function runHelper(run: HelperRun, action: 'get' | 'store' | 'erase', input: string, serverUrl: string): Promise<HelperAnswer> {
  const program = `docker-credential-${run.helper}`
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], {env: run.env, stdio: ['pipe', 'pipe', 'pipe']})
    // Our own timer: spawn's `timeout` option leaks its timer when the program does not exist.
    const timer = setTimeout(() => child.kill('SIGKILL'), run.timeoutMs)
    timer.unref()
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(e.code === 'ENOENT'
        ? new SlipwayError('auth', `docker credential helper ${program} (named in ${run.namedIn}) is not installed`, {
          hint: `install ${program} or remove "${run.helper}" from credHelpers/credsStore in that file`,
        })
        : new SlipwayError('auth', `cannot run ${program}: ${e.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) return resolve({ok: true, out})
      if (action !== 'store' && /credentials not found/i.test(out + err)) return resolve({ok: false, notFound: true})
      const why = redactSecrets((err || out).trim().split('\n')[0] ?? '')
      reject(new SlipwayError('auth', `${program} ${action} failed for ${serverUrl}${signal ? ` (killed by ${signal})` : ` (exit ${code})`}${why ? `: ${why}` : ''}`))
    })
    child.stdin.on('error', () => { /* the helper may exit before reading; its exit status tells */ })
    child.stdin.end(input)
  })
}

/** What the helper holds for the server; undefined when it has nothing. */
export async function helperGet(run: HelperRun, serverUrl: string): Promise<HelperCredential | undefined> {
  const answer = await runHelper(run, 'get', serverUrl, serverUrl)
  if (!answer.ok) return undefined
  let doc: {Username?: unknown; Secret?: unknown}
  try {
    doc = JSON.parse(answer.out) as typeof doc
  } catch {
    throw new SlipwayError('auth', `docker-credential-${run.helper} get printed something that is not JSON for ${serverUrl}`)
  }
  if (typeof doc.Secret !== 'string' || doc.Secret === '') return undefined
  return {username: typeof doc.Username === 'string' ? doc.Username : '', secret: doc.Secret}
}

export async function helperStore(run: HelperRun, serverUrl: string, cred: HelperCredential): Promise<void> {
  await runHelper(run, 'store', JSON.stringify({ServerURL: serverUrl, Username: cred.username, Secret: cred.secret}), serverUrl)
}

/** Whether the helper held something for the server (and erased it). */
export async function helperErase(run: HelperRun, serverUrl: string): Promise<boolean> {
  return (await runHelper(run, 'erase', serverUrl, serverUrl)).ok
}
