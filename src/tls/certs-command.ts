import { X509Certificate } from 'node:crypto'
import { access, mkdir, readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { writeFileAtomically } from './cert-files.js'
import { createCa, issueCertificate, type CertificateKind } from './forge-certs.js'
import { describeCertificate, splitPemCertificates, type CertificateInfo } from './inspect.js'

/** Output callback that receives one line per call, without a trailing newline. */
export type LineWriter = (line: string) => void

const EXIT_OK = 0
const EXIT_FAILED = 1
const EXIT_USAGE = 2
const DAY_MS = 24 * 60 * 60 * 1000
const DEFAULT_CA_DAYS = 3650
const DEFAULT_LEAF_DAYS = 365
const MAX_DAYS = 36500

const USAGE = [
  'usage: portway certs <command> [options]',
  '',
  'commands:',
  '  ca       create a CA certificate and key',
  '           --out DIR      folder for ca.pem and ca-key.pem (required)',
  '           --cn NAME      common name (default "portway CA")',
  `           --days N       validity in days (default ${DEFAULT_CA_DAYS})`,
  '           --key-bits N   RSA key size: 2048 (default), 3072 or 4096',
  '           --force        replace existing files',
  '  issue    issue a server or client certificate signed by a CA',
  '           --ca DIR       folder with ca.pem and ca-key.pem (required)',
  '           --out DIR      folder for NAME.pem and NAME-key.pem (required)',
  '           --kind K       server or client (required)',
  '           --cn NAME      common name (required)',
  '           --name NAME    base name of the output files (default: the common name)',
  '           --dns LIST     comma-separated DNS names; a server certificate gets the CN when',
  '                          neither --dns nor --ip is given',
  '           --ip LIST      comma-separated IP addresses, e.g. 127.0.0.1,::1',
  `           --days N       validity in days (default ${DEFAULT_LEAF_DAYS})`,
  '           --key-bits N   RSA key size: 2048 (default), 3072 or 4096',
  '           --force        replace existing files',
  '  inspect FILE',
  '           print subject, SANs, issuer, validity and SHA-256 fingerprint of each',
  '           certificate in a PEM file',
]

/** An invalid command line; the message states what was wrong and how to fix it. */
class UsageError extends Error {}

/** A command that was well formed but failed, such as a missing or unreadable file. */
class CommandError extends Error {}

/**
 * Runs `portway certs ...`. `argv` contains the arguments after `certs`, and a leading
 * `certs` is skipped too. Returns the exit code: 0 on success, 1 when the command failed, 2
 * for an invalid command line. Errors go to `errorOut` (default `out`) as single lines, never
 * as a stack trace.
 */
export async function runCertsCommand(
  argv: string[],
  out: LineWriter,
  errorOut: LineWriter = out,
): Promise<number> {
  const args = argv[0] === 'certs' ? argv.slice(1) : argv
  const [command, ...rest] = args
  try {
    if (command === undefined) {
      USAGE.forEach((line) => errorOut(line))
      return EXIT_USAGE
    }
    if (command === 'help' || command === '--help' || command === '-h') {
      USAGE.forEach((line) => out(line))
      return EXIT_OK
    }
    if (command === 'ca') return await runCa(rest, out)
    if (command === 'issue') return await runIssue(rest, out)
    if (command === 'inspect') return await runInspect(rest, out)
    throw new UsageError(`unknown command "${command}"; expected ca, issue or inspect`)
  } catch (error) {
    return reportError(error, command, errorOut)
  }
}

function reportError(error: unknown, command: string | undefined, out: LineWriter): number {
  const prefix = command === undefined ? 'certs' : `certs ${command}`
  if (error instanceof UsageError) {
    out(`error: ${prefix}: ${error.message}`)
    out('run "portway certs help" for usage')
    return EXIT_USAGE
  }
  const message = error instanceof Error ? error.message : String(error)
  out(`error: ${prefix}: ${message}`)
  return EXIT_FAILED
}

const CA_OPTIONS = {
  out: { type: 'string' },
  cn: { type: 'string' },
  days: { type: 'string' },
  'key-bits': { type: 'string' },
  force: { type: 'boolean' },
} satisfies ParseArgsConfig['options']

async function runCa(args: string[], out: LineWriter): Promise<number> {
  const { values } = parseOptions(args, CA_OPTIONS, 0)
  const outDir = requireValue(values.out, '--out', 'the folder to write ca.pem and ca-key.pem to')
  const commonName = values.cn ?? 'portway CA'
  const validityDays = parseDays(values.days, DEFAULT_CA_DAYS)
  const keyBits = parseKeyBits(values['key-bits'])
  const certFile = join(outDir, 'ca.pem')
  const keyFile = join(outDir, 'ca-key.pem')
  await ensureWritable([certFile, keyFile], values.force === true)

  const pair = createCa({ commonName, validityDays, keyBits })
  await writePair(outDir, certFile, keyFile, pair)
  out(`wrote ${certFile}`)
  out(`wrote ${keyFile} (mode 0600)`)
  out(`SHA-256 ${describeCertificate(new X509Certificate(pair.certPem)).sha256Fingerprint}`)
  return EXIT_OK
}

const ISSUE_OPTIONS = {
  ca: { type: 'string' },
  out: { type: 'string' },
  kind: { type: 'string' },
  cn: { type: 'string' },
  name: { type: 'string' },
  dns: { type: 'string' },
  ip: { type: 'string' },
  days: { type: 'string' },
  'key-bits': { type: 'string' },
  force: { type: 'boolean' },
} satisfies ParseArgsConfig['options']

async function runIssue(args: string[], out: LineWriter): Promise<number> {
  const { values } = parseOptions(args, ISSUE_OPTIONS, 0)
  const caDir = requireValue(values.ca, '--ca', 'the folder that contains ca.pem and ca-key.pem')
  const outDir = requireValue(values.out, '--out', 'the folder to write the certificate to')
  const kind = parseKind(requireValue(values.kind, '--kind', 'server or client'))
  const commonName = requireValue(values.cn, '--cn', 'the common name of the certificate')
  const { dnsNames, ipAddresses } = parseNames(kind, commonName, values.dns, values.ip)
  const validityDays = parseDays(values.days, DEFAULT_LEAF_DAYS)
  const keyBits = parseKeyBits(values['key-bits'])
  const baseName = fileBaseName(values.name ?? commonName)
  const certFile = join(outDir, `${baseName}.pem`)
  const keyFile = join(outDir, `${baseName}-key.pem`)
  await ensureWritable([certFile, keyFile], values.force === true)

  const ca = await readCa(caDir)
  const pair = issueCertificate({
    ca,
    kind,
    commonName,
    dnsNames,
    ipAddresses,
    validityDays,
    keyBits,
  })
  await writePair(outDir, certFile, keyFile, pair)
  out(`wrote ${certFile}`)
  out(`wrote ${keyFile} (mode 0600)`)
  out(`SHA-256 ${describeCertificate(new X509Certificate(pair.certPem)).sha256Fingerprint}`)
  return EXIT_OK
}

async function runInspect(args: string[], out: LineWriter): Promise<number> {
  const { positionals } = parseOptions(args, {}, 1)
  const file = positionals[0] ?? ''
  const pem = await readText(file, 'certificate file')
  const blocks = splitPemCertificates(pem)
  if (blocks.length === 0) throw new CommandError(`${file} contains no PEM certificate`)

  for (const [index, block] of blocks.entries()) {
    if (index > 0) out('')
    let info: CertificateInfo
    try {
      info = describeCertificate(new X509Certificate(block))
    } catch (error) {
      const reason = (error as Error).message
      throw new CommandError(`cannot read certificate ${index + 1} in ${file}: ${reason}`)
    }
    out(`certificate ${index + 1} of ${blocks.length} in ${file}`)
    formatInfo(info, new Date()).forEach((line) => out(`  ${line}`))
  }
  return EXIT_OK
}

/** Formats certificate details as `label: value` lines. */
export function formatInfo(info: CertificateInfo, now: Date): string[] {
  const daysLeft = Math.floor((info.notAfter.getTime() - now.getTime()) / DAY_MS)
  const daysText = daysLeft >= 0 ? String(daysLeft) : `expired ${-daysLeft} days ago`
  const rows: [string, string][] = [
    ['subject', info.subject],
    ['issuer', info.issuer],
    ['DNS names', info.sans.dns.join(', ') || '(none)'],
    ['IP addresses', info.sans.ip.join(', ') || '(none)'],
    ['not before', info.notBefore.toISOString()],
    ['not after', info.notAfter.toISOString()],
    ['days left', daysText],
    ['serial', info.serial],
    ['CA', info.isCa ? 'yes' : 'no'],
    ['SHA-256', info.sha256Fingerprint],
  ]
  return rows.map(([label, value]) => `${`${label}:`.padEnd(14)}${value}`)
}

type ParsedValues<T extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ options: T; allowPositionals: true }>
>['values']

function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  positionalCount: number,
): { values: ParsedValues<T>; positionals: string[] } {
  let parsed
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(describeParseError(error))
  }
  if (parsed.positionals.length !== positionalCount) {
    const expected =
      positionalCount === 0 ? 'no arguments besides options' : `${positionalCount} file argument`
    const got = parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')
    throw new UsageError(`expected ${expected}, got ${got}`)
  }
  return parsed
}

function describeParseError(error: unknown): string {
  const code = (error as { code?: string }).code
  const message = (error as Error).message
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    return `unknown option ${option}`
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    return message.includes('argument missing')
      ? `option ${option} needs a value`
      : `option ${option} takes no value`
  }
  return message
}

function requireValue(value: string | undefined, flag: string, hint: string): string {
  if (value === undefined || value.trim() === '') {
    throw new UsageError(`missing ${flag}; pass ${hint}`)
  }
  return value
}

function parseKind(value: string): CertificateKind {
  if (value === 'server' || value === 'client') return value
  throw new UsageError(`invalid --kind "${value}"; use server or client`)
}

function parseDays(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const days = Number(value)
  if (!/^\d+$/.test(value) || days < 1 || days > MAX_DAYS) {
    throw new UsageError(`invalid --days "${value}"; use a whole number from 1 to ${MAX_DAYS}`)
  }
  return days
}

function parseKeyBits(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (['2048', '3072', '4096'].includes(value)) return Number(value)
  throw new UsageError(`invalid --key-bits "${value}"; use 2048, 3072 or 4096`)
}

const DNS_LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?'
// An optional `*.` followed by labels of at most 63 characters.
const DNS_NAME_PATTERN = new RegExp(`^(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`, 'i')

function parseNames(
  kind: CertificateKind,
  commonName: string,
  dns: string | undefined,
  ip: string | undefined,
): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = splitList(dns)
  const ipAddresses = splitList(ip)
  for (const name of dnsNames) {
    if (!DNS_NAME_PATTERN.test(name)) throw new UsageError(`invalid DNS name "${name}" in --dns`)
  }
  for (const address of ipAddresses) {
    if (isIP(address) === 0) throw new UsageError(`invalid IP address "${address}" in --ip`)
  }

  const needsDefault = kind === 'server' && dnsNames.length === 0 && ipAddresses.length === 0
  if (!needsDefault) return { dnsNames, ipAddresses }
  if (isIP(commonName) !== 0) return { dnsNames, ipAddresses: [commonName] }
  if (DNS_NAME_PATTERN.test(commonName)) return { dnsNames: [commonName], ipAddresses }
  const message = 'a server certificate needs --dns or --ip, because its common name is not a host name'
  throw new UsageError(message)
}

function splitList(value: string | undefined): string[] {
  if (value === undefined) return []
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

function fileBaseName(name: string): string {
  const safe = name.replace(/^\*\./, 'wildcard.').replace(/[^A-Za-z0-9._-]/g, '_')
  if (safe === '' || safe.startsWith('.')) {
    throw new UsageError(`cannot derive a file name from "${name}"; pass --name`)
  }
  return safe
}

async function ensureWritable(files: readonly string[], force: boolean): Promise<void> {
  if (force) return
  for (const file of files) {
    const exists = await access(file).then(() => true, () => false)
    if (exists) throw new CommandError(`${file} already exists; pass --force to replace it`)
  }
}

async function readCa(caDir: string): Promise<{ certPem: string; keyPem: string }> {
  const certPem = await readText(join(caDir, 'ca.pem'), 'CA certificate')
  const keyPem = await readText(join(caDir, 'ca-key.pem'), 'CA key')
  return { certPem, keyPem }
}

async function readText(file: string, label: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'file not found' : (error as Error).message
    throw new CommandError(`cannot read ${label} ${file}: ${reason}`)
  }
}

async function writePair(
  outDir: string,
  certFile: string,
  keyFile: string,
  pair: { certPem: string; keyPem: string },
): Promise<void> {
  try {
    await mkdir(outDir, { recursive: true })
    await writeFileAtomically(keyFile, pair.keyPem, 0o600)
    await writeFileAtomically(certFile, pair.certPem, 0o644)
  } catch (error) {
    throw new CommandError(`cannot write to ${outDir}: ${(error as Error).message}`)
  }
}
