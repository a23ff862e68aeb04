import type {RegistryClient} from '../registry/index.js'
import type {OciStore} from '../store/index.js'
import type {TransferLedger} from './ledger.js'

/** What transfers tell the user (the workflows' Reporter has these and more). */
export interface TransferReporter {
  info(line: string): void
  warn(line: string): void
  begin(id: string, label: string, total?: number): void
  progress(id: string, done: number): void
  end(id: string, outcome: string): void
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
