import {homedir} from 'node:os'
import {join} from 'node:path'

import {type Digest, digestAlgorithm, digestHex} from '../oci/digest.js'

/** `$SLIPWAY_HOME`, default `${XDG_DATA_HOME:-~/.local/share}/slipway`. */
export function slipwayHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLIPWAY_HOME) return env.SLIPWAY_HOME
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share')
  return join(dataHome, 'slipway')
}

/** `$SLIPWAY_HOME/build/<project>`: every `build_dir` mount of the project's dimgs. */
export function projectBuildDir(home: string, project: string): string {
  return join(home, 'build', project)
}

/** The local store: an OCI image layout at `$SLIPWAY_HOME/store`. */
export function storeRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(slipwayHome(env), 'store')
}

/** Where things live inside one store. `tmp/` and `leases/` are Slipway's own; the rest is the OCI layout. */
export class StorePaths {
  constructor(readonly root: string) {}

  get layoutFile(): string { return join(this.root, 'oci-layout') }
  get indexFile(): string { return join(this.root, 'index.json') }
  get blobsDir(): string { return join(this.root, 'blobs') }
  get tmpDir(): string { return join(this.root, 'tmp') }
  get leasesDir(): string { return join(this.root, 'leases') }
  /** proper-lockfile creates this directory while a process holds the store lock. */
  get lockDir(): string { return join(this.root, '.slipway.lock') }

  algorithmDir(algorithm: string): string {
    return join(this.blobsDir, algorithm)
  }

  blob(digest: Digest): string {
    return join(this.blobsDir, digestAlgorithm(digest), digestHex(digest))
  }
}
