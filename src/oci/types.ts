import type {Digest} from './digest.js'

export interface Descriptor {
  mediaType: string
  digest: Digest
  size: number
  annotations?: Record<string, string>
  platform?: Platform
  urls?: string[]
  artifactType?: string
}

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  config: Descriptor
  layers: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  manifests: Descriptor[]
  annotations?: Record<string, string>
}

export interface HistoryEntry {
  created?: string
  created_by?: string
  author?: string
  comment?: string
  empty_layer?: boolean
}

export interface ContainerConfig {
  User?: string
  ExposedPorts?: Record<string, Record<string, never>>
  Env?: string[]
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Volumes?: Record<string, Record<string, never>>
  WorkingDir?: string
  Labels?: Record<string, string>
  StopSignal?: string
  Healthcheck?: {Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number}
  /** Docker's ONBUILD triggers (not in the OCI spec; Docker and buildah read it). */
  OnBuild?: string[]
}

export interface ImageConfig {
  created?: string
  author?: string
  architecture: string
  os: string
  variant?: string
  config?: ContainerConfig
  rootfs: {type: 'layers'; diff_ids: Digest[]}
  history?: HistoryEntry[]
}

/** Either kind of manifest document, as read from a registry or store. */
export type AnyManifest = ImageManifest | ImageIndex

export function isImageIndex(m: AnyManifest): m is ImageIndex {
  return Array.isArray((m as ImageIndex).manifests)
}
