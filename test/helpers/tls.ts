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

/** A CA (NAME-ca.pem) and a certificate it signed (NAME.pem, NAME.key) with the given extensions, under `dir`. */
async function caAndLeaf(dir: string, name: string, caCn: string, leafCn: string, extensions: string[]): Promise<{caFile: string; certFile: string; keyFile: string}> {
  await mkdir(dir, {recursive: true})
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`, '-days', '2',
    '-subj', `/CN=${caCn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  await openssl(['req', '-new', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${leafCn}`], dir)
  await writeFile(join(dir, `${name}.ext`), ['basicConstraints=critical,CA:FALSE', ...extensions, ''].join('\n'))
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir)
  return {caFile: join(dir, `${name}-ca.pem`), certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`)}
}

/** A CA and a server certificate it signed, written under `dir`. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const made = await caAndLeaf(dir, 'server', 'Slipway test CA', '127.0.0.1', [
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost',
  ])
  const certDir = join(dir, 'cert-dir')
  await mkdir(certDir, {recursive: true})
  await copyFile(made.caFile, join(certDir, 'ca.crt'))
  return {...made, certDir}
}

/** A client certificate for mTLS, PEM: what goes into certs.d/HOST:PORT/ as `client.cert` and `client.key`. */
export interface ClientCertificate {
  /** PEM of the CA that signed `certFile`: what the server checks clients against (distribution's `http.tls.clientcas`). */
  caFile: string
  certFile: string
  keyFile: string
}

/** A client CA of its own (not the server's) and a client certificate it signed, written under `dir`. */
export function makeClientCertificate(dir: string): Promise<ClientCertificate> {
  return caAndLeaf(dir, 'client', 'Slipway test client CA', 'slipway test client', [
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
  ])
}

/** A self-signed EC P-256 certificate and key (PEM) for signing tokens: the certificate is its own root. */
export async function makeSigningCertificate(dir: string): Promise<{certFile: string; keyFile: string}> {
  await mkdir(dir, {recursive: true})
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', 'signing.key', '-out', 'signing.pem', '-days', '2',
    '-subj', '/CN=Slipway test token signer'], dir)
  return {certFile: join(dir, 'signing.pem'), keyFile: join(dir, 'signing.key')}
}
