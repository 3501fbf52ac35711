import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import forge from 'node-forge'
import { normalizeHost } from './host-match.js'

export { inspectCertificate, checkKeyPair } from './inspect.js'
export type { CertificateInfo, KeyPairProblem, KeyPairCheck } from './inspect.js'

/** A certificate and its private key, both PEM encoded. The key is unencrypted PKCS#8. */
export interface CertificatePair {
  certPem: string
  keyPem: string
}

export interface CreateCaOptions {
  commonName: string
  validityDays: number
  /** RSA modulus size in bits, 2048 when omitted. */
  keyBits?: number
  /** Start of the validity period, the current time when omitted. */
  now?: Date
}

export type CertificateKind = 'server' | 'client'

export interface IssueCertificateOptions {
  /** The issuing CA. Only RSA CA keys are supported, because node-forge signs with RSA only. */
  ca: CertificatePair
  kind: CertificateKind
  commonName: string
  dnsNames?: readonly string[]
  ipAddresses?: readonly string[]
  validityDays: number
  keyBits?: number
  now?: Date
}

export interface CreateSelfSignedOptions {
  /** DNS names and IP addresses the certificate covers. The first one becomes the common name. */
  hosts: readonly string[]
  validityDays: number
  commonName?: string
  keyBits?: number
  now?: Date
}

const DEFAULT_KEY_BITS = 2048
const DAY_MS = 24 * 60 * 60 * 1000
// Backdating notBefore a little keeps a fresh certificate valid on peers whose clocks lag.
const BACKDATE_MS = 5 * 60 * 1000

interface ForgeKeys {
  privateKey: forge.pki.rsa.PrivateKey
  publicKey: forge.pki.rsa.PublicKey
  keyPem: string
}

/**
 * Creates a self-signed CA certificate with keyCertSign and cRLSign usage and a critical
 * basicConstraints CA:true extension.
 */
export function createCa(options: CreateCaOptions): CertificatePair {
  assertValidity(options.validityDays)
  const keys = generateRsaKeys(options.keyBits)
  const subject = [{ name: 'commonName', value: options.commonName }]
  const cert = newCertificate(keys.publicKey, options.validityDays, options.now)
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: true },
  ])
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem }
}

/**
 * Issues a server or client certificate signed by `ca`. Server certificates get the
 * serverAuth extended key usage, client certificates clientAuth. Both carry the given DNS
 * names and IP addresses as subject alternative names.
 */
export function issueCertificate(options: IssueCertificateOptions): CertificatePair {
  assertValidity(options.validityDays)
  const caCert = parseForgeCertificate(options.ca.certPem, 'CA certificate')
  const caKey = parseForgeRsaKey(options.ca.keyPem)
  const caX509 = new X509Certificate(options.ca.certPem)
  if (!caX509.checkPrivateKey(createPrivateKey(options.ca.keyPem))) {
    throw new Error('CA key does not match the CA certificate')
  }
  const keys = generateRsaKeys(options.keyBits)
  const cert = newCertificate(keys.publicKey, options.validityDays, options.now)
  cert.setSubject([{ name: 'commonName', value: options.commonName }])
  cert.setIssuer(caCert.subject.attributes)
  cert.setExtensions([
    ...leafExtensions(options.kind, options.dnsNames ?? [], options.ipAddresses ?? []),
    { name: 'authorityKeyIdentifier', keyIdentifier: caKeyIdentifier(caCert) },
  ])
  cert.sign(caKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem }
}

/**
 * Creates a self-signed server certificate for `hosts`. Entries that parse as IP addresses
 * become IP SANs and the others DNS SANs.
 */
export function createSelfSigned(options: CreateSelfSignedOptions): CertificatePair {
  assertValidity(options.validityDays)
  if (options.hosts.length === 0) throw new Error('createSelfSigned needs at least one host')

  const dnsNames = options.hosts.filter((host) => isIP(normalizeHost(host)) === 0)
  const ipAddresses = options.hosts.filter((host) => isIP(normalizeHost(host)) !== 0)
  const keys = generateRsaKeys(options.keyBits)
  const subject = [{ name: 'commonName', value: options.commonName ?? options.hosts[0] }]
  const cert = newCertificate(keys.publicKey, options.validityDays, options.now)
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    ...leafExtensions('server', dnsNames, ipAddresses),
    { name: 'authorityKeyIdentifier', keyIdentifier: true },
  ])
  cert.sign(keys.privateKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem }
}

function assertValidity(days: number): void {
  if (!Number.isInteger(days) || days < 1) {
    throw new RangeError(`validityDays must be a whole number of days >= 1, got ${days}`)
  }
}

// Node's OpenSSL binding generates RSA keys far faster than forge's JavaScript
// implementation. Forge only builds and signs the certificate.
function generateRsaKeys(bits = DEFAULT_KEY_BITS): ForgeKeys {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const forgeKey = forge.pki.privateKeyFromPem(privateKey)
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e)
  return { privateKey: forgeKey, publicKey, keyPem: privateKey }
}

function newCertificate(
  publicKey: forge.pki.rsa.PublicKey,
  validityDays: number,
  now = new Date(),
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  cert.serialNumber = randomSerial()
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS)
  cert.validity.notAfter = new Date(now.getTime() + validityDays * DAY_MS)
  return cert
}

// RFC 5280 §4.1.2.2: a positive integer of at most 20 octets. Clearing the top bit keeps
// the DER integer positive, and setting bit 4 keeps all 16 bytes significant.
function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x10
  return bytes.toString('hex')
}

function leafExtensions(
  kind: CertificateKind,
  dnsNames: readonly string[],
  ipAddresses: readonly string[],
): object[] {
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: kind === 'server', clientAuth: kind === 'client' },
    { name: 'subjectKeyIdentifier' },
  ]
  const altNames = [
    ...dnsNames.map((name) => ({ type: 2, value: normalizeHost(name) })),
    ...ipAddresses.map((ip) => ({ type: 7, ip: checkedIp(ip) })),
  ]
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames })
  return extensions
}

function checkedIp(ip: string): string {
  const address = normalizeHost(ip)
  if (isIP(address) === 0) throw new Error(`invalid IP address "${ip}"`)
  return address
}

function caKeyIdentifier(caCert: forge.pki.Certificate): string {
  const extension = caCert.getExtension('subjectKeyIdentifier') as
    | { subjectKeyIdentifier?: string }
    | undefined
  if (extension?.subjectKeyIdentifier !== undefined) {
    return forge.util.hexToBytes(extension.subjectKeyIdentifier)
  }
  return caCert.generateSubjectKeyIdentifier().getBytes()
}

function parseForgeCertificate(pem: string, label: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(pem)
  } catch (error) {
    throw new Error(`cannot read ${label}: ${(error as Error).message}`, { cause: error })
  }
}

function parseForgeRsaKey(pem: string): forge.pki.rsa.PrivateKey {
  try {
    return forge.pki.privateKeyFromPem(pem)
  } catch (error) {
    const reason = (error as Error).message
    throw new Error(`cannot read CA key (only unencrypted RSA keys are supported): ${reason}`, {
      cause: error,
    })
  }
}
