import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { isIP } from 'node:net'
import { formatIp, matchesDnsPattern, normalizeHost, sameIp } from './host-match.js'

/** The fields of an X.509 certificate that operators and the certificate store look at. */
export interface CertificateInfo {
  /** Subject distinguished name on one line, e.g. `CN=api.example.test, O=Example`. */
  subject: string
  issuer: string
  commonName?: string
  sans: { dns: string[]; ip: string[] }
  notBefore: Date
  notAfter: Date
  /** Serial number as upper-case hex. */
  serial: string
  /**
   * SHA-256 of the DER encoding as colon-separated upper-case hex, as
   * `openssl x509 -fingerprint -sha256` prints it.
   */
  sha256Fingerprint: string
  isCa: boolean
}

export type KeyPairProblemCode =
  | 'invalid-certificate'
  | 'invalid-key'
  | 'key-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'hosts-not-covered'

export interface KeyPairProblem {
  code: KeyPairProblemCode
  message: string
}

export interface KeyPairCheck {
  certPem: string | Buffer
  keyPem: string | Buffer
  /** Host names the certificate is used for. A problem is reported when it covers none of them. */
  hosts?: readonly string[]
  now?: Date
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** Returns each PEM certificate block in `pem`, in file order. */
export function splitPemCertificates(pem: string | Buffer): string[] {
  return pem.toString().match(PEM_CERTIFICATE) ?? []
}

/**
 * Reads the first certificate in a PEM string. Throws when the input contains no readable
 * certificate.
 */
export function inspectCertificate(pem: string | Buffer): CertificateInfo {
  return describeCertificate(new X509Certificate(pem))
}

/** Extracts the fields of a parsed certificate. */
export function describeCertificate(x509: X509Certificate): CertificateInfo {
  const info: CertificateInfo = {
    subject: oneLineName(x509.subject),
    issuer: oneLineName(x509.issuer),
    sans: parseSubjectAltName(x509.subjectAltName ?? ''),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    serial: x509.serialNumber.toUpperCase(),
    sha256Fingerprint: x509.fingerprint256,
    isCa: x509.ca,
  }
  const commonName = readCommonName(x509)
  if (commonName !== undefined) info.commonName = commonName
  return info
}

/**
 * Checks whether a certificate covers a host name or IP address. DNS SANs may contain
 * one-label wildcards. The common name counts only when the certificate has no SAN at all,
 * the same rule Node's `tls.checkServerIdentity` applies.
 */
export function certificateCoversHost(info: CertificateInfo, host: string): boolean {
  const name = normalizeHost(host)
  if (isIP(name) !== 0) return info.sans.ip.some((ip) => sameIp(ip, name))
  if (info.sans.dns.length > 0) {
    return info.sans.dns.some((pattern) => matchesDnsPattern(pattern, name))
  }
  if (info.sans.ip.length > 0 || info.commonName === undefined) return false
  return matchesDnsPattern(info.commonName, name)
}

/**
 * Checks that a key and certificate can serve together: both parse, the key belongs to the
 * certificate, the certificate is valid at `now`, and it covers at least one of `hosts`.
 * Returns every problem found, or an empty list.
 */
export function checkKeyPair(check: KeyPairCheck): KeyPairProblem[] {
  const x509 = parseCertificate(check.certPem)
  if (typeof x509 === 'string') return [{ code: 'invalid-certificate', message: x509 }]
  const key = parseKey(check.keyPem)
  if (typeof key === 'string') return [{ code: 'invalid-key', message: key }]

  const problems: KeyPairProblem[] = []
  if (!x509.checkPrivateKey(key)) {
    problems.push({ code: 'key-mismatch', message: 'private key does not match the certificate' })
  }

  const info = describeCertificate(x509)
  const now = check.now ?? new Date()
  if (now.getTime() > info.notAfter.getTime()) {
    const message = `certificate expired on ${info.notAfter.toISOString()}`
    problems.push({ code: 'expired', message })
  }
  if (now.getTime() < info.notBefore.getTime()) {
    const message = `certificate is not valid before ${info.notBefore.toISOString()}`
    problems.push({ code: 'not-yet-valid', message })
  }

  const hosts = check.hosts ?? []
  if (hosts.length > 0 && !hosts.some((host) => certificateCoversHost(info, host))) {
    const names = [...info.sans.dns, ...info.sans.ip].join(', ') || `CN=${info.commonName ?? ''}`
    const message = `certificate covers none of the hosts ${hosts.join(', ')} (it covers ${names})`
    problems.push({ code: 'hosts-not-covered', message })
  }
  return problems
}

function parseCertificate(pem: string | Buffer): X509Certificate | string {
  try {
    return new X509Certificate(pem)
  } catch (error) {
    return `cannot read certificate: ${(error as Error).message}`
  }
}

function parseKey(pem: string | Buffer): KeyObject | string {
  try {
    return createPrivateKey(pem)
  } catch (error) {
    const reason = (error as Error).message
    return `cannot read private key (an encrypted key is not supported): ${reason}`
  }
}

function oneLineName(name: string): string {
  return name.split('\n').join(', ')
}

function readCommonName(x509: X509Certificate): string | undefined {
  const subject = x509.toLegacyObject().subject as unknown as Record<string, string | string[]>
  const commonName = subject['CN']
  return Array.isArray(commonName) ? commonName[0] : commonName
}

/**
 * Parses Node's subjectAltName text (`DNS:a.test, IP Address:127.0.0.1`). Node writes a value
 * that contains separators as a JSON string, so quoted values are decoded with JSON.parse.
 */
export function parseSubjectAltName(text: string): { dns: string[]; ip: string[] } {
  const sans = { dns: [] as string[], ip: [] as string[] }
  let rest = text
  while (rest.length > 0) {
    const colon = rest.indexOf(':')
    if (colon < 0) break
    const kind = rest.slice(0, colon)
    const { value, next } = readSanValue(rest.slice(colon + 1))
    if (kind === 'DNS') sans.dns.push(value.toLowerCase())
    if (kind === 'IP Address') sans.ip.push(formatIp(value))
    rest = next
  }
  return sans
}

function readSanValue(text: string): { value: string; next: string } {
  if (text.startsWith('"')) {
    let end = 1
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1
    const value = JSON.parse(text.slice(0, end + 1)) as string
    return { value, next: text.slice(end + 1).replace(/^, /, '') }
  }
  const comma = text.indexOf(', ')
  if (comma < 0) return { value: text, next: '' }
  return { value: text.slice(0, comma), next: text.slice(comma + 2) }
}
