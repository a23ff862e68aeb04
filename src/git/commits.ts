import {spawn} from 'node:child_process'

import {SlipwayError} from '../errors.js'

/** Which of `commits` exist as commits in the repository at `root`, asked in one `git cat-file --batch-check`. */
export function existingCommits(root: string, commits: readonly string[]): Promise<Set<string>> {
  if (commits.length === 0) return Promise.resolve(new Set())
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch-check=%(objectname) %(objecttype)'], {cwd: root, stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    child.on('error', e => reject(new SlipwayError('environment', `cannot run git: ${e.message}`, {hint: 'install git'})))
    child.on('close', code => {
      if (code !== 0) return reject(new SlipwayError('environment', `git cat-file failed in ${root}: ${err.trim().split('\n')[0]}`))
      const found = new Set<string>()
      for (const line of out.split('\n')) {
        const [name, type] = line.split(' ')
        if (type === 'commit') found.add(name)
      }
      resolve(found)
    })
    child.stdin.end(`${commits.join('\n')}\n`)
  })
}
