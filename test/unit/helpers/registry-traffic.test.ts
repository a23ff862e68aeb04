import {parseAccessLog, summarizeTraffic, type BlobFacts} from '../../helpers/registry-traffic.js'

/** Lines captured from docker-registry 2.8.2's log (test/helpers/registry.ts): skopeo pushing and copying
 *  the busybox base image, node uploading, fetching, mounting a 12345-byte blob, a refused mount. */
const LAYER = 'sha256:c80935625708c3eb8c1c2377bf0d7df7c3760bc143c01d20f86c7d775626edef'
const CONFIG = 'sha256:5a45019ea85cbe04c7d86be6ce1523609284db07737e225a7c38a815921b762c'
const RAW = 'sha256:50b64526113a6f5f0ba9f4161f458fd7db9f02c6e826ea10953d38278c7aa241'
const LOG = `127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "skopeo/1.9.3"
time="2026-12-01T09:22:04.485142362Z" level=error msg="response completed with error" err.code="blob unknown" err.detail="${LAYER}" err.message="blob unknown to registry" go.version=go1.19.8 http.request.host="127.0.0.1:46223" http.request.method=HEAD http.request.uri="/v2/base/busybox/blobs/${LAYER}" http.response.status=404 http.response.written=157
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "HEAD /v2/base/busybox/blobs/${LAYER} HTTP/1.1" 404 157 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "POST /v2/base/busybox/blobs/uploads/ HTTP/1.1" 202 0 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "PATCH /v2/base/busybox/blobs/uploads/23d0ca66-36e5-4459-9b24-8b2ccf90fb42?_state=RGplevjEib8iHHw8Mip_UFnUiN56mUsuA6xfkUbBEV17Ik5hbWUiOiJiYXNlL2J1c3lib3giLCJVVUlEIjoiMjNkMGNhNjYtMzZlNS00NDU5LTliMjQtOGIyY2NmOTBmYjQyIiwiT2Zmc2V0IjowLCJTdGFydGVkQXQiOiIyMDI2LTEyLTAxVDA5OjIyOjA0LjQ4ODIyNzQ3OVoifQ%3D%3D HTTP/1.1" 202 0 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "PUT /v2/base/busybox/blobs/uploads/23d0ca66-36e5-4459-9b24-8b2ccf90fb42?_state=vMQwnn1g20nB_xAGw4mjJcfjjAJ1talJHTNoK3d-5aJ7Ik5hbWUiOiJiYXNlL2J1c3lib3giLCJVVUlEIjoiMjNkMGNhNjYtMzZlNS00NDU5LTliMjQtOGIyY2NmOTBmYjQyIiwiT2Zmc2V0IjoxMDg4MzQ1LCJTdGFydGVkQXQiOiIyMDI2LTEyLTAxVDA5OjIyOjA0WiJ9&digest=sha256%3Ac80935625708c3eb8c1c2377bf0d7df7c3760bc143c01d20f86c7d775626edef HTTP/1.1" 201 0 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "POST /v2/base/busybox/blobs/uploads/ HTTP/1.1" 202 0 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "PUT /v2/base/busybox/blobs/uploads/cff7e2e3-17f2-4b99-9bab-d6c4790c0049?_state=xBWPrGyMSih1QGJyuojoJ-bDE8dZMMPU_42ufdCFvsF7Ik5hbWUiOiJiYXNlL2J1c3lib3giLCJVVUlEIjoiY2ZmN2UyZTMtMTdmMi00Yjk5LTliYWItZDZjNDc5MGMwMDQ5IiwiT2Zmc2V0Ijo0MTQsIlN0YXJ0ZWRBdCI6IjIwMjYtMTItMDFUMDk6MjI6MDRaIn0%3D&digest=sha256%3A5a45019ea85cbe04c7d86be6ce1523609284db07737e225a7c38a815921b762c HTTP/1.1" 201 0 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "PUT /v2/base/busybox/manifests/latest HTTP/1.1" 201 0 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /v2/x/y/blobs/${RAW} HTTP/1.1" 200 12345 "" "node"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "HEAD /v2/x/y/blobs/${RAW} HTTP/1.1" 200 0 "" "node"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "POST /v2/x/z/blobs/uploads/?mount=${RAW}&from=x/y HTTP/1.1" 201 0 "" "node"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /v2/base/busybox/manifests/latest HTTP/1.1" 200 349 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "POST /v2/other/busybox/blobs/uploads/?from=base%2Fbusybox&mount=sha256%3Ac80935625708c3eb8c1c2377bf0d7df7c3760bc143c01d20f86c7d775626edef HTTP/1.1" 201 0 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /v2/base/busybox/blobs/${CONFIG} HTTP/1.1" 200 414 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /v2/base/busybox/blobs/${LAYER} HTTP/1.1" 200 1088345 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /v2/base/busybox/tags/list HTTP/1.1" 200 42 "" "skopeo/1.9.3"
127.0.0.1 - - [01/Dec/2026:09:24:11 +0000] "POST /v2/x/z/blobs/uploads/?mount=${RAW}&from=no/where HTTP/1.1" 202 0 "" "node"
127.0.0.1 - - [01/Dec/2026:09:24:11 +0000] "HEAD /v2/x/y/manifests/latest HTTP/1.1" 404 96 "" "node"
127.0.0.1 - - [01/Dec/2026:09:24:11 +0000] "GET /v2/?traffic-mark=30039-2 HTTP/1.1" 200 2 "" ""
`

const facts: BlobFacts = {
  sizeOf: d => ({[LAYER]: 1088345, [CONFIG]: 414, [RAW]: 12345})[d],
  isLayer: d => d === LAYER,
}

describe('registry traffic from the access log', () => {
  it('parses the combined request lines and skips the other log lines', () => {
    const entries = parseAccessLog(LOG)
    expect(entries).toHaveLength(19)
    expect(entries[0]).toEqual({method: 'GET', path: '/v2/', query: {}, status: 200, bytes: 2, userAgent: 'skopeo/1.9.3'})
    expect(entries[1]).toEqual({method: 'HEAD', path: `/v2/base/busybox/blobs/${LAYER}`, query: {}, status: 404, bytes: 157, userAgent: 'skopeo/1.9.3'})
    // percent-encoded queries come back decoded
    expect(entries[4].query.digest).toBe(LAYER)
    expect(entries.find(e => e.query.from === 'base/busybox')?.query).toEqual({from: 'base/busybox', mount: LAYER})
  })

  it('counts downloads from GET response bytes, uploads from the blobs they completed, mounts apart', () => {
    const t = summarizeTraffic(parseAccessLog(LOG), facts)
    expect(t).toMatchObject({
      requests: 18, // the sentinel is not counted
      manifestGets: 1, manifestHeads: 1, manifestPuts: 1, manifestBytesDownloaded: 349,
      blobGets: 3, blobHeads: 2, tagLists: 1,
      uploadsStarted: 3, uploads: 2, mounts: 2, mountsRefused: 1,
      blobBytesDownloaded: 12345 + 414 + 1088345,
      layerBytesDownloaded: 1088345,
      blobBytesUploaded: 1088345 + 414,
      layerBytesUploaded: 1088345,
      layersDownloaded: [LAYER],
      layersUploaded: [LAYER],
    })
    expect(t.blobs[LAYER]).toEqual({gets: 1, heads: 1, bytesDownloaded: 1088345, uploads: 1, bytesUploaded: 1088345, mounts: 1})
    expect(t.blobs[RAW]).toEqual({gets: 1, heads: 1, bytesDownloaded: 12345, uploads: 0, bytesUploaded: 0, mounts: 1})
  })

  it('counts nothing for failed requests and requests outside /v2/', () => {
    const failed = `127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /v2/a/blobs/${LAYER} HTTP/1.1" 404 157 "" "node"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "PUT /v2/a/blobs/uploads/u?_state=x&digest=${LAYER} HTTP/1.1" 400 120 "" "node"
127.0.0.1 - - [01/Dec/2026:09:22:04 +0000] "GET /debug/health HTTP/1.1" 200 2 "" "-"
`
    const t = summarizeTraffic(parseAccessLog(failed), facts)
    expect(t).toMatchObject({requests: 2, blobGets: 1, blobBytesDownloaded: 0, uploads: 0, blobBytesUploaded: 0, layersDownloaded: []})
  })
})
