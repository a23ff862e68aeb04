/**
 * Existence checks are HEAD requests: Docker Hub counts each GET of a manifest as a pull against the pull
 * rate limit and does not count HEAD requests (Docker's "Pull usage and limits",
 * https://docs.docker.com/docker-hub/usage/pulls/, which measures the remaining quota itself with a HEAD).
 *
 * Some registries answer 404 to a HEAD for content a GET serves. Their 404 is confirmed with a GET (a
 * one-byte ranged GET for blobs). Hosts are matched by name; self-hosted ones with other names are listed
 * in SLIPWAY_HEAD_CONFIRM_REGISTRIES (comma-separated host[:port]).
 */
interface UnreliableHead {
  host: RegExp
  /** What the registry does, and where it is documented. */
  why: string
}

export const UNRELIABLE_HEAD: readonly UnreliableHead[] = [
  {
    host: /(^|[.-])nexus([.-]|$)/i,
    why: 'Sonatype Nexus docker repositories answer HEAD on a manifest with 404 while GET serves it '
      + '(andrey-pohilko/registry-cli#43, merll/docker-registry-util#3; NEXUS-12684 cited in crossplane/crossplane#3222)',
  },
  {
    host: /(^|\.)jfrog\.io$|(^|[.-])artifactory([.-]|$)/i,
    why: 'JFrog Artifactory remote (proxy) repositories answer 404 to HEAD for content not cached yet unless '
      + '"Bypass HEAD requests" is set (jfrog/terraform-provider-artifactory#1121)',
  },
  {
    host: /(^|[.-])harbor([.-]|$)/i,
    why: 'Harbor proxy-cache projects answer HEAD on a blob not cached yet with 404 (goharbor/harbor#22609), '
      + 'and did so for manifests before 2.1 (goharbor/harbor#13301)',
  },
]

/** Whether a 404 answer to a HEAD on `registry` must be confirmed with a GET. */
export function headNeedsConfirmation(registry: string, listed: readonly string[]): boolean {
  if (listed.includes(registry)) return true
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.split(':')[0]!
  return UNRELIABLE_HEAD.some(r => r.host.test(host))
}
