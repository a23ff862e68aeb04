import {Flags} from '@oclif/core'

import {SlipwayError} from '../errors.js'

/** `registry login` and `logout`: the file they write instead of docker config.json. */
export const authFileFlag = {
  'auth-file': Flags.string({
    description: 'The file to write (and edit on logout) instead of docker config.json: an auth.json, as podman and skopeo use.',
    env: 'REGISTRY_AUTH_FILE',
    helpValue: 'FILE',
  }),
}

/**
 * The password of `registry login`: stdin with `--password-stdin` (less one trailing newline, as docker
 * strips it, so `echo "$TOKEN" | … --password-stdin` works), else `-p`, which warns since every user on
 * the host sees it in the process list.
 */
export async function loginPassword(flags: {password?: string; 'password-stdin'?: boolean}, warn: (line: string) => void): Promise<string> {
  let password: string
  if (flags['password-stdin']) {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    password = Buffer.concat(chunks).toString('utf8').replace(/\n$/, '').replace(/\r$/, '')
  } else if (flags.password !== undefined) {
    warn('a password given with -p/--password shows in the process list; pipe it to --password-stdin instead')
    password = flags.password
  } else {
    throw new SlipwayError('usage', 'registry login needs the password', {hint: 'pipe it to --password-stdin (or pass -p PASSWORD)'})
  }
  if (password === '') throw new SlipwayError('usage', 'the password is empty', {hint: 'pipe the password or token to --password-stdin'})
  return password
}

/** HOST, else the GitLab CI registry of the job. */
export function hostArg(host: string | undefined): string {
  const given = host ?? process.env.CI_REGISTRY
  if (!given) throw new SlipwayError('usage', 'name the registry to log in to', {hint: 'e.g. slipway registry login registry.example.com -u USER --password-stdin'})
  return given
}
