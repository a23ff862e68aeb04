import {EXIT_CODES, type ErrorKind} from '../errors.js'

/** What each exit code says, as a user reads it (src/errors.ts defines the kinds). */
const EXIT_MEANINGS: Record<ErrorKind, string> = {
  internal: 'internal error (a bug: run again with --debug and report it)',
  usage: 'bad flag, argument or reference',
  config: 'bad dappfile',
  auth: 'credentials missing or refused',
  'not-found': 'image, tag, blob or file not found',
  network: 'host unreachable, TLS failure or timeout',
  registry: 'the registry refused or answered nonsense',
  integrity: 'digest or size mismatch, corrupt store or archive, hostile tar',
  build: "a stage's commands failed",
  environment: 'something missing on the host (sandbox, user namespaces, git, disk space)',
  conflict: 'a lock is held or something changed at the same time',
}

/** The exit codes paragraph every command's help ends with (in its description, so `oclif readme` keeps it). */
export const EXIT_CODES_HELP = `Exit codes: 0 success; ${Object.entries(EXIT_CODES)
  .sort(([, a], [, b]) => a - b)
  .map(([kind, code]) => `${code} ${EXIT_MEANINGS[kind as ErrorKind]}`)
  .join('; ')}; 128+N stopped by signal N (130 for Ctrl-C) after cleaning up.`

/** A command's description: its paragraphs, then the exit codes. */
export function describeCommand(...paragraphs: string[]): string {
  return [...paragraphs, EXIT_CODES_HELP].join('\n\n')
}
