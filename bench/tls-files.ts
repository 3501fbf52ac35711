/** The certificate every HTTPS target serves: one RSA-2048 server certificate from a private CA. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createCa, issueCertificate } from '../src/tls/forge-certs.js'
import { APP_HOST } from './scenarios.js'

export interface TlsFiles {
  certFile: string
  keyFile: string
  caFile: string
  /** Certificate followed by its key in one PEM file, the form HAProxy's `crt` takes. */
  combinedFile: string
  /** Name the clients send in SNI; the certificate covers it. */
  serverName: string
}

/** Writes a CA and a server certificate for APP_HOST and 127.0.0.1 into `dir`. */
export function writeTlsFiles(dir: string): TlsFiles {
  const ca = createCa({ commonName: 'portway bench CA', validityDays: 2, keyBits: 2048 })
  const server = issueCertificate({
    ca,
    kind: 'server',
    commonName: APP_HOST,
    dnsNames: [APP_HOST],
    ipAddresses: ['127.0.0.1'],
    validityDays: 2,
    keyBits: 2048,
  })
  const files: TlsFiles = {
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server-key.pem'),
    caFile: join(dir, 'ca.pem'),
    combinedFile: join(dir, 'server-combined.pem'),
    serverName: APP_HOST,
  }
  writeFileSync(files.certFile, server.certPem)
  writeFileSync(files.keyFile, server.keyPem, { mode: 0o600 })
  writeFileSync(files.caFile, ca.certPem)
  writeFileSync(files.combinedFile, `${server.certPem.trimEnd()}\n${server.keyPem}`, { mode: 0o600 })
  return files
}
