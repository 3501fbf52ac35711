import { createHash, X509Certificate } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls'
import { createSelfSigned } from './forge-certs.js'
import {
  checkKeyPair,
  describeCertificate,
  splitPemCertificates,
  type CertificateInfo,
  type KeyPairProblem,
} from './inspect.js'

/** One named certificate of the gateway configuration. */
export interface CertificateConfig {
  name: string
  certFile: string
  keyFile: string
  /** Intermediate certificates sent after the leaf. */
  chainFile?: string
  /** Host names this certificate serves; its DNS SANs are used when omitted or empty. */
  hosts?: readonly string[]
}

/** A certificate that passed validation and can serve handshakes. */
export interface LoadedCertificate {
  name: string
  /** `file` for configured certificates, `generated` for the self-signed default. */
  source: 'file' | 'generated'
  info: CertificateInfo
  context: SecureContext
  /** Private key and certificate chain as PEM, for `tls.Server#setSecureContext`. */
  keyPem: string
  chainPem: string
  /** SHA-256 over the file contents, used to skip unchanged files on reload. */
  digest: string
}

/** Reason a configured certificate failed to load, with the file at fault. */
export interface CertificateRejection {
  name: string
  file: string
  reason: string
}

export type LoadOutcome =
  | { ok: true; certificate: LoadedCertificate }
  | { ok: false; rejection: CertificateRejection }

/** Formats a rejection as `file: reason (certificate "name")`. */
export function formatRejection(rejection: CertificateRejection): string {
  return `${rejection.file}: ${rejection.reason} (certificate "${rejection.name}")`
}

/**
 * Reads and validates the files of one configured certificate. Returns the loaded
 * certificate, or a rejection naming the file at fault. Returns `undefined` when the
 * files still have the contents `previousDigest` was computed from.
 */
export async function loadCertificateFiles(
  config: CertificateConfig,
  contextOptions: SecureContextOptions,
  now: Date,
  previousDigest?: string,
): Promise<LoadOutcome | undefined> {
  const files = [config.certFile, config.keyFile, ...(config.chainFile ? [config.chainFile] : [])]
  const contents: string[] = []
  for (const file of files) {
    try {
      contents.push(await readFile(file, 'utf8'))
    } catch (error) {
      return reject(config.name, file, `cannot read file: ${(error as Error).message}`)
    }
  }

  const [certPem = '', keyPem = '', chainPem = ''] = contents
  const digest = digestOf(contents)
  if (digest === previousDigest) return undefined

  const problems = checkKeyPair({ certPem, keyPem, hosts: config.hosts ?? [], now })
  const first = problems[0]
  if (first !== undefined) {
    return reject(config.name, fileAtFault(config, first), joinReasons(problems))
  }

  const chainProblem = config.chainFile === undefined ? undefined : checkChain(chainPem)
  if (chainProblem !== undefined && config.chainFile !== undefined) {
    return reject(config.name, config.chainFile, chainProblem)
  }

  const fullChain = chainPem === '' ? certPem : `${certPem.trimEnd()}\n${chainPem}`
  return buildCertificate(config, 'file', { keyPem, chainPem: fullChain, digest }, contextOptions)
}

interface PemMaterial {
  keyPem: string
  chainPem: string
  digest: string
}

function buildCertificate(
  config: CertificateConfig,
  source: LoadedCertificate['source'],
  material: PemMaterial,
  contextOptions: SecureContextOptions,
): LoadOutcome {
  let context: SecureContext
  try {
    const pem = { key: material.keyPem, cert: material.chainPem }
    context = createSecureContext({ ...contextOptions, ...pem })
  } catch (error) {
    const reason = `TLS library rejected the key pair: ${(error as Error).message}`
    return reject(config.name, config.certFile, reason)
  }

  const info = describeCertificate(new X509Certificate(material.chainPem))
  return { ok: true, certificate: { name: config.name, source, info, context, ...material } }
}

function reject(name: string, file: string, reason: string): LoadOutcome {
  return { ok: false, rejection: { name, file, reason } }
}

function digestOf(contents: readonly string[]): string {
  const hash = createHash('sha256')
  for (const text of contents) hash.update(text).update('\0')
  return hash.digest('hex')
}

function fileAtFault(config: CertificateConfig, problem: KeyPairProblem): string {
  return problem.code === 'invalid-key' || problem.code === 'key-mismatch'
    ? config.keyFile
    : config.certFile
}

function joinReasons(problems: readonly KeyPairProblem[]): string {
  return problems.map((problem) => problem.message).join('; ')
}

function checkChain(chainPem: string): string | undefined {
  const blocks = splitPemCertificates(chainPem)
  if (blocks.length === 0) return 'chain file contains no PEM certificate'
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block)
    } catch (error) {
      return `cannot read chain certificate ${index + 1}: ${(error as Error).message}`
    }
  }
  return undefined
}

/** Options of the self-signed certificate served when no default certificate is configured. */
export interface GeneratedDefaultOptions {
  dataDir: string
  hosts: readonly string[]
  validityDays: number
  now: Date
}

/** Name under which the generated default certificate is stored and logged. */
export const GENERATED_DEFAULT_NAME = 'generated-default'

/**
 * Loads the generated default certificate from `dataDir`, or creates it there when it is
 * missing, unreadable or expired. The key file is written with mode 0600.
 */
export async function loadGeneratedDefault(
  options: GeneratedDefaultOptions,
  contextOptions: SecureContextOptions,
): Promise<{ certificate: LoadedCertificate; created: boolean; replacedReason?: string }> {
  const config: CertificateConfig = {
    name: GENERATED_DEFAULT_NAME,
    certFile: join(options.dataDir, 'default-cert.pem'),
    keyFile: join(options.dataDir, 'default-key.pem'),
  }
  const existing = await loadCertificateFiles(config, contextOptions, options.now)
  if (existing?.ok === true) {
    return { certificate: { ...existing.certificate, source: 'generated' }, created: false }
  }

  const pair = createSelfSigned({
    hosts: options.hosts,
    validityDays: options.validityDays,
    commonName: 'portway default certificate',
    now: options.now,
  })
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  await writeFileAtomically(config.keyFile, pair.keyPem, 0o600)
  await writeFileAtomically(config.certFile, pair.certPem, 0o644)

  const digest = digestOf([pair.certPem, pair.keyPem])
  const material = { keyPem: pair.keyPem, chainPem: pair.certPem, digest }
  const built = buildCertificate(config, 'generated', material, contextOptions)
  if (!built.ok) throw new Error(formatRejection(built.rejection))

  const result = { certificate: built.certificate, created: true }
  const isMissing = existing?.ok === false && existing.rejection.reason.includes('ENOENT')
  return isMissing || existing === undefined
    ? result
    : { ...result, replacedReason: existing.rejection.reason }
}

/** Writes a file next to its final path and renames it, so readers never see half a file. */
export async function writeFileAtomically(file: string, text: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, text, { mode })
  // The mode passed to writeFile is masked by the umask, so chmod sets it exactly.
  await chmod(temporary, mode)
  await rename(temporary, file)
}
