/**
 * The environment for a test's git commands: a fixed author and committer at `date` (a git date such as
 * `1700000000 +0000`) and no user or system config, so commit ids are the same on every run and machine.
 */
export function gitTestEnv(date: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Slipway Test',
    GIT_AUTHOR_EMAIL: 'test@slipway.invalid',
    GIT_COMMITTER_NAME: 'Slipway Test',
    GIT_COMMITTER_EMAIL: 'test@slipway.invalid',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  }
}
