import type { SecureContext, SecureContextOptions, Server, TlsOptions } from 'node:tls'
import pino, { type Logger } from 'pino'
import { GatewayError } from '../errors.js'
import {
  formatRejection,
  GENERATED_DEFAULT_NAME,
  loadCertificateFiles,
  loadGeneratedDefault,
  type CertificateConfig,
  type CertificateRejection,
  type LoadedCertificate,
} from './cert-files.js'
import { CertificateWatcher } from './cert-watcher.js'
import { normalizeHost, wildcardFor } from './host-match.js'
import { certificateCoversHost, type CertificateInfo } from './inspect.js'

export type { CertificateConfig, CertificateRejection } from './cert-files.js'
export { GENERATED_DEFAULT_NAME } from './cert-files.js'

export interface CertStoreOptions {
  certificates?: readonly CertificateConfig[]
  /**
   * Certificate served when SNI is missing or matches nothing. The store generates one when
   * omitted.
   */
  defaultCertificate?: string
  /** Folder that keeps the generated default certificate across restarts. */
  dataDir: string
  /** Names the generated default certificate covers. */
  defaultHosts?: readonly string[]
  defaultValidityDays?: number
  /** Interval in ms of the stat polling that backs up fs.watch. Set 0 to turn polling off. */
  pollIntervalMs?: number
  /** Delay in ms between the first file event and the reload it triggers. */
  debounceMs?: number
  /** Options every secure context gets, such as `minVersion` or `ciphers`. */
  contextOptions?: Omit<SecureContextOptions, 'key' | 'cert'>
  logger?: Logger
  now?: () => Date
}

/** Ingress `spec.tls[]` entry after its secret was resolved to a certificate name. */
export interface IngressTlsHosts {
  certificate: string
  hosts: readonly string[]
}

export interface ReloadResult {
  loaded: string[]
  unchanged: string[]
  rejected: CertificateRejection[]
}

interface StoreState {
  byName: ReadonlyMap<string, LoadedCertificate>
  /** Exact names and `*.suffix` patterns, each mapped to a certificate name. */
  hostIndex: ReadonlyMap<string, string>
  defaultName: string
}

interface AttachedServer {
  fallback: string | undefined
  /** Certificate last handed to `setSecureContext`. */
  applied: LoadedCertificate
}

const EXPIRY_WARNING_DAYS = 14
const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Named TLS certificates with SNI selection. Every reload validates the files first and
 * swaps the whole state in one assignment, so a handshake uses either the old or the new
 * set, and a certificate that fails validation keeps its previous version serving.
 */
export class CertStore {
  readonly #options: CertStoreOptions
  readonly #log: Logger
  readonly #configs: readonly CertificateConfig[]
  readonly #servers = new Map<Server, AttachedServer>()
  #state: StoreState = { byName: new Map(), hostIndex: new Map(), defaultName: '' }
  #ingressHosts: readonly IngressTlsHosts[] = []
  #reloading: Promise<ReloadResult> | undefined
  #watcher: CertificateWatcher | undefined

  constructor(options: CertStoreOptions) {
    this.#options = options
    this.#log = options.logger ?? pino({ level: 'silent' })
    this.#configs = options.certificates ?? []
    this.#checkConfig()
  }

  /**
   * Loads every certificate for the first time. Throws a GatewayError that lists each file
   * rejected, because the gateway must not start with a certificate missing.
   */
  async load(): Promise<void> {
    const result = await this.reload()
    if (result.rejected.length === 0) return

    const lines = result.rejected.map((rejection) => `  ${formatRejection(rejection)}`)
    const message = `invalid TLS certificates; fix or remove them:\n${lines.join('\n')}`
    throw new GatewayError('GW_CFG_INVALID', message)
  }

  /**
   * Rereads all certificate files and swaps in those that changed and passed validation.
   * Calls made while a reload runs wait for it and then reload once more.
   */
  async reload(): Promise<ReloadResult> {
    // A failed earlier reload has already rejected its own caller, so it must not fail this one.
    const previous = this.#reloading?.catch(() => undefined) ?? Promise.resolve(undefined)
    const next = previous.then(() => this.#reloadNow())
    this.#reloading = next
    try {
      return await next
    } finally {
      if (this.#reloading === next) this.#reloading = undefined
    }
  }

  /**
   * Sets the hosts that Ingress `spec.tls[]` entries assign to certificates, replacing the
   * previous set. Returns a message for each entry that names an unknown certificate or a
   * host the certificate does not cover. Such hosts are indexed anyway. Call it after
   * `load()`, because the checks need the loaded certificates.
   */
  setIngressHosts(entries: readonly IngressTlsHosts[]): string[] {
    this.#ingressHosts = entries.map((entry) => ({ ...entry, hosts: [...entry.hosts] }))
    this.#state = { ...this.#state, hostIndex: this.#buildHostIndex(this.#state.byName) }
    return this.#checkIngressHosts()
  }

  /**
   * Returns the name of the certificate for a TLS server name: an exact host beats a
   * one-label wildcard, case and a trailing dot are ignored, and a missing or unknown name
   * gets `fallback` or the store default.
   */
  selectName(servername: string | undefined, fallback?: string): string {
    const state = this.#state
    const name = normalizeHost(servername ?? '')
    const wildcard = wildcardFor(name)
    const exact = name === '' ? undefined : state.hostIndex.get(name)
    const match = exact ?? (wildcard === undefined ? undefined : state.hostIndex.get(wildcard))
    if (match !== undefined && state.byName.has(match)) return match
    if (fallback !== undefined && state.byName.has(fallback)) return fallback
    return state.defaultName
  }

  /** Returns the secure context for a TLS server name, chosen as `selectName` does. */
  selectContext(servername: string | undefined, fallback?: string): SecureContext {
    const certificate = this.#state.byName.get(this.selectName(servername, fallback))
    if (certificate === undefined) {
      throw new Error('CertStore.load() must finish before TLS handshakes')
    }
    return certificate.context
  }

  /** Creates an `SNICallback` for `tls.createServer` that selects as `selectContext` does. */
  sniCallback(fallback?: string): NonNullable<TlsOptions['SNICallback']> {
    return (servername, callback) => {
      try {
        callback(null, this.selectContext(servername, fallback))
      } catch (error) {
        callback(error as Error)
      }
    }
  }

  /**
   * Returns options for `tls.createServer`: the SNI callback and the default certificate,
   * which Node uses for clients that send no server name. Pass the server to `attach` so
   * that the default follows rotations.
   */
  serverOptions(fallback?: string): TlsOptions {
    return { ...this.#defaultSecureOptions(fallback), SNICallback: this.sniCallback(fallback) }
  }

  /** Keeps the default certificate of `server` current across reloads until `close()`. */
  attach(server: Server, fallback?: string): void {
    this.#servers.set(server, { fallback, applied: this.#applyDefault(server, fallback) })
    server.once('close', () => this.#servers.delete(server))
  }

  /** Checks whether the named certificate covers a host, so HTTPS can respond 421 on a mismatch. */
  coversHost(certificateName: string, host: string): boolean {
    const certificate = this.#state.byName.get(certificateName)
    return certificate !== undefined && certificateCoversHost(certificate.info, host)
  }

  /** Returns the details of a loaded certificate. */
  describe(certificateName: string): CertificateInfo | undefined {
    return this.#state.byName.get(certificateName)?.info
  }

  /** Returns the names of all loaded certificates, the generated default included. */
  names(): string[] {
    return [...this.#state.byName.keys()]
  }

  /** Starts watching the certificate files and reloads when one changes. */
  watch(): void {
    if (this.#watcher !== undefined) return
    const files = this.#configs.flatMap((config) => [
      config.certFile,
      config.keyFile,
      ...(config.chainFile === undefined ? [] : [config.chainFile]),
    ])
    this.#watcher = new CertificateWatcher({
      files,
      pollIntervalMs: this.#options.pollIntervalMs ?? 5000,
      debounceMs: this.#options.debounceMs ?? 100,
      logger: this.#log,
      onChange: () => {
        this.reload().catch((error: unknown) => {
          this.#log.error({ err: error }, 'certificate reload failed')
        })
      },
    })
    this.#watcher.start()
  }

  /** Stops watching files and detaches all servers. */
  close(): void {
    this.#watcher?.close()
    this.#watcher = undefined
    this.#servers.clear()
  }

  async #reloadNow(): Promise<ReloadResult> {
    const now = this.#now()
    const result: ReloadResult = { loaded: [], unchanged: [], rejected: [] }
    const byName = new Map<string, LoadedCertificate>()
    for (const config of this.#configs) {
      const current = this.#state.byName.get(config.name)
      const contextOptions = this.#contextOptions()
      const outcome = await loadCertificateFiles(config, contextOptions, now, current?.digest)
      if (outcome === undefined && current !== undefined) {
        result.unchanged.push(config.name)
        byName.set(config.name, current)
      } else if (outcome?.ok === true) {
        result.loaded.push(config.name)
        byName.set(config.name, outcome.certificate)
        this.#logLoaded(outcome.certificate, now)
      } else if (outcome?.ok === false) {
        result.rejected.push(outcome.rejection)
        if (current !== undefined) byName.set(config.name, current)
        this.#logRejected(outcome.rejection, current !== undefined)
      }
    }

    const defaultName = this.#options.defaultCertificate ?? GENERATED_DEFAULT_NAME
    if (this.#options.defaultCertificate === undefined) {
      byName.set(GENERATED_DEFAULT_NAME, await this.#loadGeneratedDefault(now))
    }

    this.#state = { byName, hostIndex: this.#buildHostIndex(byName), defaultName }
    this.#refreshAttachedServers()
    return result
  }

  async #loadGeneratedDefault(now: Date): Promise<LoadedCertificate> {
    const current = this.#state.byName.get(GENERATED_DEFAULT_NAME)
    const isValid = current !== undefined && current.info.notAfter.getTime() > now.getTime()
    if (isValid) return current

    const { certificate, created, replacedReason } = await loadGeneratedDefault(
      {
        dataDir: this.#options.dataDir,
        hosts: this.#options.defaultHosts ?? ['localhost', '127.0.0.1', '::1'],
        validityDays: this.#options.defaultValidityDays ?? 365,
        now,
      },
      this.#contextOptions(),
    )
    const fields = {
      certificate: GENERATED_DEFAULT_NAME,
      dataDir: this.#options.dataDir,
      sha256: certificate.info.sha256Fingerprint,
      notAfter: certificate.info.notAfter.toISOString(),
    }
    if (replacedReason !== undefined) {
      this.#log.warn({ ...fields, replacedReason }, 'replaced invalid default certificate')
    }
    const message = created ? 'generated default certificate' : 'reusing default certificate'
    this.#log.info(fields, message)
    return certificate
  }

  #buildHostIndex(byName: ReadonlyMap<string, LoadedCertificate>): Map<string, string> {
    const index = new Map<string, string>()
    const add = (host: string, certificate: string, explicit: boolean): void => {
      const key = normalizeHost(host)
      const owner = index.get(key)
      if (owner === undefined) index.set(key, certificate)
      else if (explicit && owner !== certificate) {
        this.#log.warn({ host: key, certificate, kept: owner }, 'host assigned to two certificates')
      }
    }

    // Explicit assignments come first so that they win over names found in SANs.
    for (const config of this.#configs) {
      for (const host of config.hosts ?? []) add(host, config.name, true)
    }
    for (const entry of this.#ingressHosts) {
      for (const host of entry.hosts) add(host, entry.certificate, true)
    }
    for (const config of this.#configs) {
      const certificate = byName.get(config.name)
      if ((config.hosts?.length ?? 0) > 0 || certificate === undefined) continue
      for (const dnsName of certificate.info.sans.dns) add(dnsName, config.name, false)
    }
    return index
  }

  #checkIngressHosts(): string[] {
    const problems: string[] = []
    for (const entry of this.#ingressHosts) {
      const certificate = this.#state.byName.get(entry.certificate)
      if (certificate === undefined) {
        problems.push(`Ingress TLS entry names unknown certificate "${entry.certificate}"`)
        continue
      }
      for (const host of entry.hosts) {
        if (certificateCoversHost(certificate.info, host)) continue
        const name = entry.certificate
        problems.push(`certificate "${name}" does not cover Ingress TLS host "${host}"`)
      }
    }
    for (const problem of problems) this.#log.warn({ problem }, 'Ingress TLS hosts mismatch')
    return problems
  }

  #checkConfig(): void {
    const seen = new Set<string>()
    for (const config of this.#configs) {
      if (seen.has(config.name) || config.name === GENERATED_DEFAULT_NAME) {
        const message = `duplicate or reserved certificate name "${config.name}"; rename it`
        throw new GatewayError('GW_CFG_INVALID', message)
      }
      seen.add(config.name)
    }
    const configuredDefault = this.#options.defaultCertificate
    if (configuredDefault !== undefined && !seen.has(configuredDefault)) {
      const message =
        `defaultCertificate "${configuredDefault}" is not among the configured certificates; ` +
        'add it or remove the setting'
      throw new GatewayError('GW_CFG_INVALID', message)
    }
  }

  #defaultCertificate(fallback: string | undefined): LoadedCertificate {
    const certificate = this.#state.byName.get(this.selectName(undefined, fallback))
    if (certificate === undefined) {
      throw new Error('CertStore.load() must finish before TLS servers start')
    }
    return certificate
  }

  #defaultSecureOptions(fallback: string | undefined): SecureContextOptions {
    const certificate = this.#defaultCertificate(fallback)
    return { ...this.#contextOptions(), key: certificate.keyPem, cert: certificate.chainPem }
  }

  #applyDefault(server: Server, fallback: string | undefined): LoadedCertificate {
    server.setSecureContext(this.#defaultSecureOptions(fallback))
    return this.#defaultCertificate(fallback)
  }

  // Node serves clients that send no server name from the server's own context, which the
  // SNI callback never replaces, so each attached server gets the new default explicitly.
  #refreshAttachedServers(): void {
    for (const [server, attached] of this.#servers) {
      if (this.#defaultCertificate(attached.fallback) === attached.applied) continue
      attached.applied = this.#applyDefault(server, attached.fallback)
    }
  }

  #logLoaded(certificate: LoadedCertificate, now: Date): void {
    const info = certificate.info
    const fields = {
      certificate: certificate.name,
      sha256: info.sha256Fingerprint,
      notAfter: info.notAfter.toISOString(),
      sans: [...info.sans.dns, ...info.sans.ip],
    }
    this.#log.info(fields, 'certificate loaded')
    const daysLeft = Math.floor((info.notAfter.getTime() - now.getTime()) / DAY_MS)
    if (daysLeft < EXPIRY_WARNING_DAYS) {
      this.#log.warn({ ...fields, daysLeft }, 'certificate expires soon')
    }
  }

  #logRejected(rejection: CertificateRejection, isPreviousServing: boolean): void {
    const fields = { certificate: rejection.name, file: rejection.file, reason: rejection.reason }
    const message = isPreviousServing
      ? 'certificate rejected; previous version keeps serving'
      : 'certificate rejected'
    this.#log.error(fields, message)
  }

  #contextOptions(): SecureContextOptions {
    return { minVersion: 'TLSv1.2', ...this.#options.contextOptions }
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date()
  }
}
