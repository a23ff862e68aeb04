import {isCommit, type StageInput} from './records.js'

/**
 * The commits improper-git-commit needs to know about: every well-formed commit any stage records, unique
 * and sorted. The workflow asks git which of them exist (`git cat-file --batch-check`) and passes the
 * answer as `existingCommits`.
 */
export function commitsToCheck(stages: readonly StageInput[]): string[] {
  const commits = new Set<string>()
  for (const s of stages) {
    if (Array.isArray(s.commits)) for (const c of s.commits) if (isCommit(c)) commits.add(c)
  }
  return [...commits].sort()
}
