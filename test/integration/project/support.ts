import {execFileSync} from 'node:child_process'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {stagesListingLines} from '../../../src/cli/stages-output.js'
import {type ProjectPlan, stagesListingJson} from '../../../src/project/index.js'
import {gitTestEnv} from '../../helpers/git-env.js'
import {makeTempDirSync} from '../../helpers/tmp.js'

/**
 * A real git repository in a temp directory whose commit ids are the same on every run: fixed author,
 * committer and dates, no user or system git config.
 */
export class GitFixture {
  readonly dir: string
  private tick = 0

  constructor(prefix = 'plan') {
    this.dir = makeTempDirSync(prefix)
    this.git('init', '-q', '-b', 'main')
  }

  private env(): NodeJS.ProcessEnv {
    return gitTestEnv(`${1700000000 + this.tick * 60} +0000`)
  }

  git(...args: string[]): string {
    return execFileSync('git', args, {cwd: this.dir, env: this.env(), encoding: 'utf8'}).trim()
  }

  write(files: Record<string, string>): void {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, path)), {recursive: true})
      writeFileSync(join(this.dir, path), content)
    }
  }

  /** Writes the files (if any), commits everything and answers the new commit id. */
  commit(message: string, files: Record<string, string> = {}): string {
    this.write(files)
    this.tick++
    this.git('add', '-A')
    this.git('commit', '-q', '--allow-empty', '-m', message)
    return this.git('rev-parse', 'HEAD')
  }

  remove(): void {
    rmSync(this.dir, {recursive: true, force: true})
  }
}

/** The dry-run listing `dimg stages push` prints for the plan: each line of the CLI's text with its newline. */
export function formatStagesListing(plan: ProjectPlan, repo: string): string {
  return stagesListingLines(stagesListingJson(plan, repo)).map(l => `${l}\n`).join('')
}
