import type {Repository} from '../oci/ref.js'

/** URL paths of the distribution API. Repository paths are validated by parseRef, so they need no escaping. */
export const apiPath = {
  blob: (repo: Repository, digest: string) => `/v2/${repo.path}/blobs/${digest}`,
  uploads: (repo: Repository) => `/v2/${repo.path}/blobs/uploads/`,
  manifest: (repo: Repository, reference: string) => `/v2/${repo.path}/manifests/${reference}`,
  tags: (repo: Repository) => `/v2/${repo.path}/tags/list`,
  catalog: () => '/v2/_catalog',
}
