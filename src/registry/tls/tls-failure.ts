import {connect} from 'node:tls'

import {SlipwayError} from '../../errors.js'
import type {HostTls} from './host-tls.js'

/** Verification of the server's certificate failed: OpenSSL's codes as Node reports them, by what they mean. */
const SERVER_CERT_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'signed by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by an unknown authority',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'signed by an unknown (self-signed) authority',
  CERT_UNTRUSTED: 'signed by an unknown authority',
  CERT_SIGNATURE_FAILURE: 'badly signed',
  CERT_REJECTED: 'rejected',
  ERR_TLS_CERT_ALTNAME_INVALID: 'issued for another name (hostname mismatch)',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not valid yet (check the clock)',
}

/** TLS alerts a server sends when it wants a client certificate it did not get, or refuses the one it got. */
const CLIENT_CERT_ALERTS = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', 'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
])

/** Connection ends that hide a TLS 1.3 alert: the alert comes after the handshake, and undici reports the close. */
const CLOSED_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED'])

function code(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && typeof cur === 'object' && depth < 5; depth++) {
    const c = (cur as {code?: unknown}).code
    if (typeof c === 'string' && c !== 'UND_ERR_SOCKET') return c
    cur = (cur as {cause?: unknown}).cause
  }
  return (e as {code?: string} | undefined)?.code
}

export interface TlsFailureContext {
  tls: HostTls
  insecure: boolean
  /** certs.d directory to suggest when the host has none. */
  suggestedDir: string
}

/**
 * The one line for a TLS failure on an HTTPS connection, or undefined when `e` is not one. A closed
 * connection is checked with one handshake of our own: a server that requires a client certificate
 * (Go's RequireAndVerifyClientCert, distribution's `http.tls.clientcas`) ends TLS 1.3 with an alert
 * that undici reports only as "other side closed".
 */
export async function explainTlsFailure(host: string, port: string, e: unknown, ctx: TlsFailureContext): Promise<SlipwayError | undefined> {
  let c = code(e)
  let cause = e
  if (c !== undefined && CLOSED_CODES.has(c)) {
    const alert = await handshakeAlert(host, port, ctx)
    if (alert === undefined) return undefined
    c = code(alert)
    cause = alert
  }
  if (c === undefined) return undefined
  return describeTlsFailure(c, ctx, cause)
}

export function describeTlsFailure(c: string, ctx: TlsFailureContext, cause?: unknown): SlipwayError | undefined {
  const {tls} = ctx
  const insecure = `--insecure-registry ${tls.hostPort}`
  const certsDir = tls.certsDir ?? ctx.suggestedDir
  if (SERVER_CERT_CODES[c]) {
    const tried = `CAs tried: ${tls.caSources.join(', ')}${tls.certsDir ? '' : `; no certs.d directory (looked in ${tls.lookedIn.join(', ')})`}`
    const fix = c === 'ERR_TLS_CERT_ALTNAME_INVALID' || c === 'CERT_HAS_EXPIRED' || c === 'CERT_NOT_YET_VALID'
      ? `have the registry's certificate fixed, or pass ${insecure}`
      : `put the CA certificate that signed it in ${certsDir}/ca.crt, or pass ${insecure}`
    return new SlipwayError('network', `TLS certificate of ${tls.hostPort} is not trusted: ${SERVER_CERT_CODES[c]} (${c}; ${tried})`, {hint: fix, cause})
  }
  if (CLIENT_CERT_ALERTS.has(c)) {
    if (!tls.client) {
      return new SlipwayError('network', `${tls.hostPort} asked for a TLS client certificate and none is configured (${c}; ${tls.certsDir ? `none in ${tls.certsDir}` : `no certs.d directory: looked in ${tls.lookedIn.join(', ')}`})`, {
        hint: `put the client certificate and its key in ${certsDir}/client.cert and ${certsDir}/client.key`,
        cause,
      })
    }
    return new SlipwayError('network', `${tls.hostPort} refused the TLS client certificate ${tls.client.certFile} (${c})`, {
      hint: 'check that it is signed by a CA the registry trusts, is valid now and is meant for client authentication',
      cause,
    })
  }
  return undefined
}

/** The TLS alert error a fresh handshake to the host ends with, or undefined if it ends well or otherwise. */
function handshakeAlert(host: string, port: string, ctx: TlsFailureContext): Promise<Error | undefined> {
  return new Promise(resolve => {
    const socket = connect({host, port: Number(port), secureContext: ctx.tls.secureContext, rejectUnauthorized: !ctx.insecure, ...(/^[\d.]+$|:/.test(host) ? {} : {servername: host})})
    const done = (result: Error | undefined): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const timer = setTimeout(() => done(undefined), 5000)
    // a request elicits the alert where the server sends it after the handshake, or an answer where it does not
    socket.once('secureConnect', () => socket.write(`HEAD /v2/ HTTP/1.1\r\nhost: ${host}:${port}\r\nconnection: close\r\n\r\n`))
    socket.once('data', () => done(undefined))
    socket.once('error', (err: Error) => done(CLIENT_CERT_ALERTS.has(code(err) ?? '') || SERVER_CERT_CODES[code(err) ?? ''] ? err : undefined))
    socket.once('close', () => done(undefined))
  })
}
