/**
 * The dappfile after validation: every list is a list, every default applied, nothing left to interpret.
 * This is what the stage planner reads; it never sees YAML.
 */

/** The user stages that run shell commands, in build order. */
export const SHELL_STAGES = ['beforeInstall', 'install', 'beforeSetup', 'setup'] as const
export type ShellStageName = (typeof SHELL_STAGES)[number]

/** The user stages that run shell commands: those, and dapp's `buildArtifact` (artifacts only, after setup). */
export type UserStageName = ShellStageName | 'buildArtifact'

/** The user stages whose inputs may include `stageDependencies` files. */
export const DEPENDENCY_STAGES = ['install', 'beforeSetup', 'setup', 'buildArtifact'] as const
export type DependencyStageName = (typeof DEPENDENCY_STAGES)[number]

/** Files copied from a source tree into the image: a git mapping's (from a repository) or an import's (from an image). */
interface PathsMapping {
  /** Absolute path in the source (`/` = its root). */
  add: string
  /** Absolute path in this image. */
  to: string
  /** Globs relative to `add`; empty = everything. */
  includePaths: string[]
  /** Globs relative to `add`. */
  excludePaths: string[]
  owner?: string
  group?: string
}

/** A mapping of a path of the project's own git repository (or of a remote one) into the image. */
export interface GitMapping extends PathsMapping {
  /** Per user stage: globs relative to `add` whose content (at the current commit) the stage depends on. */
  stageDependencies: Partial<Record<DependencyStageName, string[]>>
  /** `as`: dapp's name for the mapping (parsed; nothing uses it). */
  as?: string
  /** A remote repository (`url`, with at most one of `branch`/`tag`/`commit`) instead of the project's own. */
  remote?: {url: string; branch?: string; tag?: string; commit?: string}
}

export interface ShellConfig {
  commands: Record<ShellStageName, string[]>
  /** `shell.cacheVersion`: applies to every shell stage. */
  cacheVersion?: string
  /** `shell.<stage>CacheVersion`. */
  stageCacheVersion: Partial<Record<ShellStageName, string>>
  /** dapp's `shell.buildArtifact` (artifacts only): commands of the stage after setup. */
  buildArtifact?: string[]
  buildArtifactCacheVersion?: string
}

export type ImportPosition = 'beforeInstall' | 'afterInstall' | 'beforeSetup' | 'afterSetup'

/** Files of an artifact's (or image's) image copied into this one; `to` is `add` where the config leaves it out. */
export interface ImportSpec extends PathsMapping {
  /** The name of the artifact (or, with `fromImage`, the image) the files come from. */
  artifact: string
  /** werf's `import: [{image: NAME}]`: the source is an image, not an artifact. */
  fromImage?: true
  /** werf's `stage:`: the source's image as it is after this stage (default: its last stage). */
  stage?: ShellStageName
  position: ImportPosition
}

export interface HealthcheckConfig {
  /** `CMD …` / `CMD-SHELL …` / `NONE` as a string, or an exec-form list. */
  test: string | string[]
  interval?: string
  timeout?: string
  startPeriod?: string
  retries?: number
}

/** Docker instructions; only the keys that were written are present. */
export interface DockerInstructions {
  /** Absolute, or relative to the parent image's working directory (as Docker's WORKDIR). */
  WORKDIR?: string
  ENV?: Record<string, string>
  EXPOSE?: string[]
  LABEL?: Record<string, string>
  USER?: string
  ENTRYPOINT?: string | string[]
  /** Instructions recorded for images built FROM this one (image config `OnBuild`). */
  ONBUILD?: string[]
  CMD?: string | string[]
  VOLUME?: string[]
  HEALTHCHECK?: HealthcheckConfig
}

export interface MountSpec {
  /**
   * `tmp_dir`: a fresh empty directory per stage; `build_dir`: a per-project directory kept between builds;
   * `path`: the host directory `fromPath`.
   */
  from: 'tmp_dir' | 'build_dir' | 'path'
  /** `fromPath` as written: absolute, `~/…`, or (as werf) relative to the project directory. */
  fromPath?: string
  /** Absolute path the directory is mounted at in every shell stage. */
  to: string
}

export interface DimgConfig {
  /** `null` for the single unnamed dimg; any string dapp/werf accept (slugged where it becomes a path). */
  name: string | null
  isArtifact: boolean
  /** The base image reference as written; '' when the base is another dimg (`fromDimg`). */
  from: string
  /**
   * `fromDimg`/`fromImage` (a dimg) or `fromDimgArtifact`/`fromImageArtifact`/`fromArtifact` (an artifact):
   * the dimg whose last stage is the base, instead of `from`.
   */
  fromDimg?: {name: string; isArtifact: boolean}
  fromCacheVersion?: string
  fromLatest: boolean
  git: GitMapping[]
  shell: ShellConfig
  imports: ImportSpec[]
  docker: DockerInstructions
  mounts: MountSpec[]
}

/** Which tool's config file it is: dappfile.yaml/yml (dapp) or werf.yaml (werf). */
export type ConfigFlavour = 'dapp' | 'werf'

export interface DappConfig {
  /** Absolute path of the config file. */
  file: string
  flavour: ConfigFlavour
  /** `project:` of the meta document, when there is one. */
  project?: string
  /** Dimgs and artifacts in document order. */
  dimgs: DimgConfig[]
}
