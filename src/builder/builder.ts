import type {Change, LayerBlob, LayerCompression} from '../layer/index.js'
import type {Isolation, SandboxMount} from '../sandbox/index.js'
import type {MountSpec} from '../config/types.js'
import type {Image} from '../image/index.js'
import type {GitRevision, PlannedStage, StageInputs} from '../stage/stage-plan.js'
import type {Lease, OciStore} from '../store/index.js'
import type {OwnerIds} from './owners.js'

/** What every builder of a run shares: the store, the run's lease, layer settings, the git work tree. */
export interface BuildServices {
  store: OciStore
  lease: Lease
  signal: AbortSignal
  compression: LayerCompression
  /** Layer timestamps are clamped to this (seconds). */
  mtimeClamp: number
  isolation?: Isolation
  /** The repository a stage's git files are read from: the project's work tree, or a remote's clone. */
  gitRoot(revision: GitRevision): string
  /** A line a stage command printed. */
  output(id: string, line: string): void
  /** What the stage is doing now ("running", "writing layer"), for the live display. */
  phase(id: string, name: string): void
  /** The base image of a `from` stage, in the store. */
  baseImage(inputs: Extract<StageInputs, {kind: 'from'}>): Promise<Image>
  mounts(dimgName: string | null, specs: MountSpec[]): Promise<SandboxMount[]>
  /** The unpacked files of an artifact's last stage. */
  artifactRoot(signature: string): Promise<string>
}

/** One stage to build on its parent image. */
export interface StageWork {
  dimgName: string | null
  stage: PlannedStage
  /** The image it stands on (undefined for `from`); its layers may be only in a registry. */
  parent?: Image
  /** Progress id for the stage's output lines. */
  id: string
  /** The parent's files, unpacked (their missing blobs downloaded first) on the first call. */
  parentRoot(): Promise<StageRoot>
}

/** A directory holding an image's files that a stage may change in place. */
export interface StageRoot {
  /** Where the files are: a directory of their own, or the merged view of an overlay. */
  path: string
  /** Starts recording changes; the function returned gives every change made since (layer order). */
  track(): Promise<() => Promise<Change[]>>
}

export interface StageBuilt {
  /** The stage's image before its labels are set; its new layer is in the store. */
  image: Image
  layer?: LayerBlob
  /** The root directory now holds the built image's files (the builder changed it in place). */
  rootIsBuilt: boolean
  /** Owner/group names this stage resolved to ids (recorded, so later stages need no /etc/passwd). */
  ownerIds?: OwnerIds
}

/** How one kind of stage is built, and whether it reads its parent's files to build it. */
export interface StageBuilder<K extends StageInputs['kind'] = StageInputs['kind']> {
  readonly kind: K
  /** True when the stage always reads the unpacked parent (shell commands, imports into it). */
  needsParentFiles(inputs: Extract<StageInputs, {kind: K}>): boolean
  build(services: BuildServices, work: StageWork, inputs: Extract<StageInputs, {kind: K}>): Promise<StageBuilt>
}
