import type {RegistryClient} from '../registry/index.js'
import type {OciStore} from '../store/index.js'
import type {TransferLedger} from './ledger.js'

/** What transfers tell the user (the workflows' Reporter has these and more). */
export interface TransferReporter {
  info(line: string): void
  warn(line: string): void
  begin(id: string, label: string, opts?: BeginOptions): void
  /** What a running item is doing now ("uploading", "downloading"). */
  phase(id: string, name: string): void
  progress(id: string, done: number): void
  end(id: string, outcome: string): void
  /** An image went to or came from a registry (one line per image, whatever its blobs did). */
  image(event: ImageTransferred): void
}

export interface BeginOptions {
  /** Bytes in all, when known. */
  total?: number
  /** A part of a larger item (a blob of an image): its finished line only at --verbose. */
  detail?: boolean
}

export interface ImageTransferred {
  verb: 'pushed' | 'pulled'
  ref: string
  /** Blobs of the image (config and layers) and their bytes in all. */
  blobs: number
  bytes: number
  /** Of those, the bytes this run sent or received (the rest the other side had, or got by a mount). */
  movedBytes: number
}

/** What the copy engine works with: the local store, the registry client, and the run's ledger. */
export interface TransferContext {
  readonly jobs: number
  readonly reporter: TransferReporter
  /** One per run: which repositories hold which blobs, uploads in flight, bytes moved. */
  readonly transfers: TransferLedger
  store(): Promise<OciStore>
  registry(): Promise<RegistryClient>
}
