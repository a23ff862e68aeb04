import {execFile} from 'node:child_process'
import {mkdir, writeFile, copyFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

const run = promisify(execFile)

/** TLS material for a loopback test server, made with the openssl CLI (EC P-256, valid 2 days). */
export interface TestCertificates {
  /** PEM of the CA that signed `certFile`: what SLIPWAY_CA_FILE points at. */
  caFile: string
  /** Server certificate (SAN IP:127.0.0.1, IP:127.0.0.2, DNS:localhost) and its key, PEM. */
  certFile: string
  keyFile: string
  /** A directory holding only `ca.crt`: the layout containers/image (skopeo, buildah) reads as --cert-dir. */
  certDir: string
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, {cwd})
  } catch (error) {
    const stderr = (error as {stderr?: string}).stderr ?? ''
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`)
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

/** A CA and a server certificate it signed, written under `dir`. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  await mkdir(dir, {recursive: true})
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=Slipway test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  await openssl(['req', '-new', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir)
  await writeFile(join(dir, 'server.ext'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost',
    '',
  ].join('\n'))
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir)
  const certDir = join(dir, 'cert-dir')
  await mkdir(certDir, {recursive: true})
  await copyFile(join(dir, 'ca.pem'), join(certDir, 'ca.crt'))
  return {caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key'), certDir}
}

/** A client certificate for mTLS, PEM: what goes into certs.d/HOST:PORT/ as `client.cert` and `client.key`. */
export interface ClientCertificate {
  /** PEM of the CA that signed `certFile`: what the server checks clients against (distribution's `http.tls.clientcas`). */
  caFile: string
  certFile: string
  keyFile: string
}

/** A client CA of its own (not the server's) and a client certificate it signed, written under `dir`. */
export async function makeClientCertificate(dir: string): Promise<ClientCertificate> {
  await mkdir(dir, {recursive: true})
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', 'client-ca.key', '-out', 'client-ca.pem', '-days', '2',
    '-subj', '/CN=Slipway test client CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  await openssl(['req', '-new', ...EC_KEY, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=slipway test client'], dir)
  await writeFile(join(dir, 'client.ext'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
    '',
  ].join('\n'))
  await openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'client-ca.pem', '-CAkey', 'client-ca.key', '-CAcreateserial',
    '-out', 'client.pem', '-days', '2', '-extfile', 'client.ext'], dir)
  return {caFile: join(dir, 'client-ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key')}
}

/** A self-signed EC P-256 certificate and key (PEM) for signing tokens: the certificate is its own root. */
export async function makeSigningCertificate(dir: string): Promise<{certFile: string; keyFile: string}> {
  await mkdir(dir, {recursive: true})
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', 'signing.key', '-out', 'signing.pem', '-days', '2',
    '-subj', '/CN=Slipway test token signer'], dir)
  return {certFile: join(dir, 'signing.pem'), keyFile: join(dir, 'signing.key')}
}
