import {stat} from 'node:fs/promises'
import {resolve} from 'node:path'

import {displayName, loadDappfile} from '../config/load.js'
import {requireMetaDocument} from '../config/meta.js'
import {projectName, suggestedProjectName} from '../config/project-name.js'
import type {DappConfig, DimgConfig} from '../config/types.js'
import {SlipwayError} from '../errors.js'
import {gitTopLevel, headCommit, workTreeSnapshot} from '../git/git.js'

/** A project directory as the planner reads it: the config, the project name, and what git says. */
export interface ProjectGit {
  /** The work tree's top-level directory. */
  root: string
  /** The commit HEAD points at. */
  headCommit: string
  /** Its committer time, in seconds since the epoch (what layer timestamps are clamped to). */
  headTime: number
  /** Where file content is read from: `headCommit`, or with --dev the tree id of a work-tree snapshot. */
  contentRef: string
}

export interface Project {
  name: string
  /** Absolute project directory (where the config file is). */
  dir: string
  config: DappConfig
  /** Undefined when the directory is not in a git work tree with at least one commit. */
  git?: ProjectGit
  dev: boolean
}

export interface LoadProjectOptions {
  /** Count uncommitted changes (tracked, and untracked files that are not ignored) as the current content. */
  dev?: boolean
}

export async function loadProject(dir: string, opts: LoadProjectOptions = {}): Promise<Project> {
  const absDir = resolve(dir)
  await requireDirectory(absDir)
  const dev = opts.dev ?? false
  // git runs as child processes: ask it what is needed two at a time, while the config is read
  const [config, root] = await Promise.all([loadDappfile(absDir), gitTopLevel(absDir)])
  // The meta document's `project:` names the project; without one, the name comes from git or the directory.
  const [name, head] = await Promise.all([config.project ?? projectName(root, absDir), root === undefined ? undefined : headCommit(root)])
  requireMetaDocument(config, displayName(config.file), suggestedProjectName(name))
  const needsGit = config.dimgs.find((d) => d.git.some((m) => m.remote === undefined))
  let git: ProjectGit | undefined
  if (root !== undefined) {
    if (head !== undefined) git = {root, headCommit: head.commit, headTime: head.time, contentRef: dev && needsGit ? await workTreeSnapshot(root) : head.commit}
    else if (needsGit) {
      throw new SlipwayError('config', `${describeDimg(needsGit)} maps git paths but the repository at ${root} has no commit yet`, {hint: 'commit the files first'})
    }
  } else if (needsGit) {
    throw new SlipwayError('config', `${describeDimg(needsGit)} maps git paths but ${absDir} is not in a git repository`, {
      hint: 'run "git init" and commit the project, or remove the git section',
    })
  }
  return {name, dir: absDir, config, ...(git ? {git} : {}), dev}
}

/** The project directory must be one: otherwise git and the config loader each fail in their own, misleading way. */
async function requireDirectory(dir: string): Promise<void> {
  const st = await stat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined
    throw e
  })
  const hint = 'pass --dir DIR naming the directory that holds dappfile.yaml or werf.yaml'
  if (!st) throw new SlipwayError('usage', `the project directory ${dir} does not exist`, {hint})
  if (!st.isDirectory()) throw new SlipwayError('usage', `the project directory ${dir} is not a directory`, {hint})
}

/** How errors name a dimg of the plan ("the dimg" for the unnamed one). */
export function describeDimg(d: DimgConfig): string {
  return d.name === null ? 'the dimg' : `${d.isArtifact ? 'artifact' : 'dimg'} "${d.name}"`
}
