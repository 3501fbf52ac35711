import { performance } from 'node:perf_hooks'
import { loadConfigFile } from './config/load-config.js'
import { formatHostPort } from './config/address.js'
import type { GatewayConfig, ListenerConfig, ServicePolicy } from './config/types.js'
import { startDemoUpstreams } from './demo/demo-upstreams.js'
import type { DiscoveryProvider, EndpointSpec, ProviderStatus, ServiceQuery } from './discovery/types.js'
import { formatProblem } from './errors.js'
import type { BoundCluster } from './control/model.js'
import type { BackendRef, IngressSpec } from './ingress/model.js'
import { compileRoutes, type BackendResolver, type RoutingTable } from './ingress/routing-table.js'
import { isRuleFileName, RuleSet, type RuleScan } from './ingress/rule-set.js'
import type { Logger } from './log.js'
import type { Forwarder } from './proxy/exchange.js'
import { HttpProxyForwarder } from './proxy/forward-http-proxy.js'
import { UndiciForwarder } from './proxy/forward-undici.js'
import { HttpHandler, isAllowed, type AccessRecord, type AccessWriter, type DataPlane } from './proxy/http-handler.js'
import type { AccessList } from './ingress/annotations.js'
import { HttpListener, type HttpsSettings } from './proxy/http-listener.js'
import { TcpListener } from './proxy/tcp-listener.js'
import { CertStore, type IngressTlsHosts } from './tls/cert-store.js'
import { UpstreamRegistry, type PoolEndpoint } from './proxy/upstream-pool.js'
import { PathWatcher } from './util/path-watcher.js'
import { bindingListenerConfigs, controlTargets, fixedServiceTable, type ControlServiceTarget } from './gateway-binding.js'
import { backendKey, type DataPlaneSnapshot } from './gateway-snapshot.js'
import { consulServiceKey, listenerAccess, parseServiceKey, recordOutcome, toCidrSet } from './gateway-services.js'

export { backendKey, type DataPlaneSnapshot } from './gateway-snapshot.js'
export { consulServiceKey } from './gateway-services.js'

export interface GatewayOptions {
  log: Logger
  /** Watch config and rule files and reload on change. */
  watch?: boolean
  pollMs?: number
  /** Extra discovery sources, such as Consul. */
  providers?: DiscoveryProvider[]
  /** Called once per finished request, for metrics. */
  onRecord?: (record: AccessRecord, endpoint: PoolEndpoint | undefined) => void
  /** Writes access records; by default they go through `log` at info. */
  accessWriter?: AccessWriter
  /** Called when a rule change is applied or a rule file is rejected, for metrics. */
  onReload?: (result: 'applied' | 'rejected') => void
  /**
   * `standalone` does everything in one process. `primary` runs discovery, rule compilation and
   * bindings but opens no listener, and reports each change to `onSnapshot`. `worker` opens the
   * listeners and serves the snapshots a primary sends (see `applySnapshot`).
   */
  role?: 'standalone' | 'primary' | 'worker'
  onSnapshot?: (snapshot: DataPlaneSnapshot) => void
}

export interface BoundListener {
  name: string
  protocol: ListenerConfig['protocol']
  address: string
  port: number
}

/**
 * The running gateway: owns the config, the rule files, the upstream pools and the listeners,
 * and swaps in a new routing generation when a valid change arrives.
 */
export class Gateway {
  #config: GatewayConfig
  readonly #log: Logger
  readonly #options: GatewayOptions
  readonly registry: UpstreamRegistry
  #rules: RuleSet
  #dataPlane: DataPlane
  #undici: UndiciForwarder
  #httpProxy: HttpProxyForwarder
  readonly #listeners: Array<HttpListener | TcpListener> = []
  #certStore: CertStore | undefined
  readonly #bound: BoundListener[] = []
  #watchers: PathWatcher[] = []
  #stopDemo: (() => void) | undefined
  #draining = false
  #started = false
  readonly #accessWriter: AccessWriter
  #providerQueries = new Map<string, ServiceQuery>()
  /** True when the gateway serves the cluster bound to `control.slbId`. */
  readonly #slbMode: boolean
  #binding: BoundCluster | undefined
  /** Services of the bound cluster by key `clusterId/name`. */
  #controlServices = new Map<string, ControlServiceTarget>()
  /** Listeners opened for the bound cluster's service ports, by `port`. */
  readonly #bindingListeners = new Map<number, { listener: HttpListener | TcpListener; signature: string }>()
  #bindingChain: Promise<void> = Promise.resolve()

  constructor(config: GatewayConfig, options: GatewayOptions) {
    this.#config = config
    this.#log = options.log
    this.#options = options
    this.registry = new UpstreamRegistry(options.log)
    this.#accessWriter = options.accessWriter ?? ((record) => this.#log.info(record))
    this.#slbMode = config.control.slbId !== undefined
    this.#rules = new RuleSet(config.rules, config.ingress)
    const forwarderOptions = { timeouts: config.timeouts, connectionsPerEndpoint: config.proxy.connectionsPerEndpoint }
    this.#undici = new UndiciForwarder(forwarderOptions)
    this.#httpProxy = new HttpProxyForwarder(forwarderOptions)
    this.#dataPlane = { generation: 0, table: compileRoutes([], () => ({ error: 'empty' })).table, registry: this.registry }
    for (const provider of options.providers ?? []) {
      provider.onChange((key, endpoints) => this.#applyEndpoints(key, endpoints, provider.source))
    }
  }

  get config(): GatewayConfig {
    return this.#config
  }

  get dataPlane(): DataPlane {
    return this.#dataPlane
  }

  get listeners(): readonly BoundListener[] {
    return this.#bound
  }

  get draining(): boolean {
    return this.#draining
  }

  /** True once every listener is bound and until shutdown begins. */
  get ready(): boolean {
    return this.#started && !this.#draining
  }

  /** Open downstream connections per listener, for metrics. */
  openConnections(): Array<{ listener: string; connections: number }> {
    return this.#listeners.map((l) => ({ listener: l.config.name, connections: l.connections }))
  }

  /** Reachability of each discovery source, for health output. */
  providerStatus(): ProviderStatus[] {
    return (this.#options.providers ?? []).map((p) => p.status())
  }

  async start(): Promise<void> {
    this.#log.info({ config: this.#config.file, engine: this.#config.proxy.engine }, 'gateway starting')
    if (this.#config.demoUpstreams.length > 0) {
      this.#stopDemo = await startDemoUpstreams(this.#config.demoUpstreams, this.#log)
    }
    const role = this.#options.role ?? 'standalone'
    // The primary loads certificates too, so a generated default exists before workers start and
    // they all serve the same one.
    if (this.#config.listeners.some((l) => l.protocol === 'https')) await this.#loadCertificates()
    if (role !== 'worker') await this.#reloadRules('start')
    if (role !== 'primary') for (const listener of this.#config.listeners) await this.#bind(listener)
    if (role !== 'worker' && this.#options.watch !== false) await this.#startWatching()
    this.#started = true
    if (role !== 'primary') await this.#syncBindingListeners()
    this.#publishSnapshot()
    this.#log.info({ listeners: this.#bound.length, routes: this.#dataPlane.table.size, generation: this.#dataPlane.generation }, 'gateway started')
  }

  /** Stops accepting, lets in-flight requests finish up to the shutdown deadline, then closes. */
  async stop(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    const started = performance.now()
    this.#log.info({ deadlineMs: this.#config.timeouts.shutdownMs }, 'gateway stopping')
    for (const w of this.#watchers) w.close()
    await Promise.all(this.#listeners.map((l) => l.close(this.#config.timeouts.shutdownMs)))
    // Sockets destroyed at the deadline emit 'close' in a later event-loop phase, and their
    // responses write access records then. Waiting briefly keeps those records.
    await new Promise((resolve) => setTimeout(resolve, 50))
    await Promise.all([this.#undici.close(), this.#httpProxy.close()])
    this.#certStore?.close()
    this.registry.close()
    for (const provider of this.#options.providers ?? []) await provider.close()
    this.#stopDemo?.()
    this.#log.info({ ms: Math.round(performance.now() - started) }, 'gateway stopped')
  }

  /** The cluster bound to this gateway's SLB, in SLB mode. */
  get binding(): BoundCluster | undefined {
    return this.#binding
  }

  /**
   * Serves the cluster bound to `control.slbId`, or nothing when `bound` is undefined.
   * Rules and services switch in one new generation; listeners for the cluster's service
   * ports open and close without touching the other listeners. Calls apply in order.
   */
  applyBinding(bound: BoundCluster | undefined): Promise<void> {
    const next = this.#bindingChain.then(() => this.#applyBindingNow(bound))
    this.#bindingChain = next.catch(() => undefined)
    return next
  }

  async #applyBindingNow(bound: BoundCluster | undefined): Promise<void> {
    if (!this.#slbMode) return
    const previous = this.#binding?.cluster.id
    this.#binding = bound
    this.#controlServices = controlTargets(bound)
    if (bound === undefined) this.#log.warn({ slbId: this.#config.control.slbId, previous }, 'SLB is not bound to a cluster; listeners respond with 503')
    else this.#log.info({ slbId: bound.slbId, cluster: bound.cluster.id, services: bound.services.length }, 'SLB binding applied')
    await this.#reloadRules('binding changed', true)
    if (this.#started && (this.#options.role ?? 'standalone') === 'standalone') await this.#syncBindingListeners()
  }

  /** Builds the snapshot a worker needs to serve the current generation. */
  snapshot(): DataPlaneSnapshot {
    const ingresses = this.#servedIngresses()
    const resolved = new Map<string, { service: string } | { error: string }>()
    for (const ingress of ingresses) {
      const backends = [...ingress.rules.map((r) => r.backend), ...(ingress.defaultBackend === undefined ? [] : [ingress.defaultBackend])]
      for (const backend of backends) resolved.set(backendKey(backend), this.#resolveBackend(backend))
    }
    const endpoints: Array<[string, EndpointSpec[]]> = []
    for (const pool of this.registry.pools()) endpoints.push([pool.key, pool.endpoints.map((e) => e.spec)])
    return {
      generation: this.#dataPlane.generation,
      unbound: this.#dataPlane.unbound,
      ingresses,
      resolved: [...resolved],
      endpoints,
      bindingListeners: this.#bindingListenerConfigs(),
    }
  }

  /** Worker role: serves a primary's snapshot as one new generation. */
  async applySnapshot(snapshot: DataPlaneSnapshot): Promise<void> {
    const resolved = new Map(snapshot.resolved)
    const { table } = compileRoutes(snapshot.ingresses, (b) => resolved.get(backendKey(b)) ?? { error: 'backend not resolved by the primary' })
    const keys = new Set<string>()
    for (const [key, endpoints] of snapshot.endpoints) {
      keys.add(key)
      this.registry.ensure(key, this.#policyFor(key)).setEndpoints(endpoints)
    }
    this.registry.retain(keys)
    this.#dataPlane = { generation: snapshot.generation, table, registry: this.registry, unbound: snapshot.unbound }
    this.#workerIngresses = snapshot.ingresses
    this.#applyIngressTls()
    this.#workerBindingListeners = snapshot.bindingListeners
    if (this.#started) await this.#syncBindingListeners()
  }

  #workerBindingListeners: ListenerConfig[] = []
  #workerIngresses: IngressSpec[] = []

  #snapshotPending = false

  /** Sends one snapshot per turn of the event loop, however many changes it saw. */
  #publishSnapshot(): void {
    if (this.#options.onSnapshot === undefined || !this.#started || this.#snapshotPending) return
    this.#snapshotPending = true
    setImmediate(() => {
      this.#snapshotPending = false
      if (!this.#draining) this.#options.onSnapshot?.(this.snapshot())
    })
  }

  /** Re-reads the rule files and swaps in a new generation when something changed. */
  reloadRules(reason = 'manual'): Promise<RuleScan> {
    return this.#reloadRules(reason)
  }

  /** Re-reads the config file; an invalid file is rejected and the running config is kept. */
  async reloadConfig(): Promise<boolean> {
    if (this.#config.file === '<embedded>') return false
    const result = loadConfigFile(this.#config.file)
    if (!result.ok) {
      this.#log.error(
        { file: this.#config.file, problems: result.problems.map(formatProblem) },
        'config change rejected; the running config stays in effect',
      )
      return false
    }
    const next = result.config
    const listenersChanged = JSON.stringify(next.listeners) !== JSON.stringify(this.#config.listeners)
    if (listenersChanged) {
      // NOTE: listeners are bound once; a changed listener list applies at the next start.
      this.#log.warn({ file: next.file }, 'listener changes need a restart; other changes are applied')
      next.listeners = this.#config.listeners
    }
    const rulesChanged = JSON.stringify(next.rules) !== JSON.stringify(this.#config.rules) ||
      JSON.stringify(next.ingress) !== JSON.stringify(this.#config.ingress)
    this.#config = next
    const forwarderOptions = { timeouts: next.timeouts, connectionsPerEndpoint: next.proxy.connectionsPerEndpoint }
    this.#undici.configure(forwarderOptions)
    this.#httpProxy.configure(forwarderOptions)
    if (rulesChanged) {
      this.#rules = new RuleSet(next.rules, next.ingress)
      void this.#restartRuleWatcher()
    }
    await this.#reloadRules('config changed', true)
    return true
  }

  async #reloadRules(reason: string, force = false): Promise<RuleScan> {
    const started = performance.now()
    const scan = await this.#rules.scan()
    for (const rejected of scan.rejected) {
      this.#options.onReload?.('rejected')
      this.#log.error(
        { file: rejected.file, problems: rejected.problems.map(formatProblem) },
        'rule file rejected; its last good rules keep serving',
      )
    }
    for (const skipped of scan.skipped) {
      this.#log.info({ file: skipped.file, line: skipped.line, ingress: skipped.name, reason: skipped.reason }, 'ingress skipped')
    }
    if (!scan.changed && !force && this.#dataPlane.generation > 0) return scan
    const { table, duplicates } = compileRoutes(this.#servedIngresses(), this.#resolveBackend)
    for (const dup of duplicates) this.#log.warn({ rule: dup.rule, file: dup.file, line: dup.line, reason: dup.reason }, 'duplicate rule ignored')
    for (const bad of table.rejected) this.#log.error({ rule: bad.rule, file: bad.file, line: bad.line, reason: bad.reason }, 'rule disabled')
    this.#syncServices([...table.serviceKeys()])
    this.#applyIngressTls()
    this.#dataPlane = { generation: this.#dataPlane.generation + 1, table, registry: this.registry, unbound: this.#unboundReason() }
    this.#options.onReload?.('applied')
    this.#publishSnapshot()
    this.#log.info(
      {
        generation: this.#dataPlane.generation,
        reason,
        routes: table.size,
        disabled: table.rejected.length,
        filesAccepted: scan.accepted.length,
        filesRejected: scan.rejected.length,
        ms: Math.round((performance.now() - started) * 100) / 100,
      },
      'routes applied',
    )
    return scan
  }

  readonly #resolveBackend: BackendResolver = (backend: BackendRef) => {
    if (this.#slbMode) {
      const key = this.#binding === undefined ? undefined : `${this.#binding.cluster.id}/${backend.service}`
      if (key !== undefined && this.#controlServices.has(key)) return { service: key }
      return { error: `service "${backend.service}" is not a service of the bound cluster ${this.#binding?.cluster.id ?? '(none)'}` }
    }
    const svc = this.#config.services.get(backend.service)
    if (svc !== undefined && this.#isStatic(svc.name)) return { service: svc.name }
    if (this.#hasDiscovery()) {
      return { service: consulServiceKey(backend, svc?.consulName, this.#config.consul?.matchPortNumber === true) }
    }
    return { error: `service "${backend.service}" is not defined under services in ${this.#config.file} and no consul is configured` }
  }

  /** Creates pools for the services in use, fills static ones and passes the rest to providers to watch. */
  #syncServices(keys: readonly string[]): void {
    const used = new Set(keys)
    for (const l of this.#config.listeners) {
      for (const svc of [l.service, ...l.routes.map((r) => r.service)]) if (svc !== undefined) used.add(svc)
    }
    const queries = new Map<string, ServiceQuery>()
    for (const key of this.#dynamicServiceKeys()) used.add(key)
    for (const key of used) {
      const pool = this.registry.ensure(key, this.#policyFor(key))
      const svc = this.#config.services.get(key)
      const fromControl = this.#controlServices.get(key)
      if (fromControl !== undefined) {
        if ('endpoints' in fromControl) pool.setEndpoints(fromControl.endpoints)
        else queries.set(key, fromControl.query)
      } else if (svc !== undefined && this.#isStatic(key)) {
        pool.setEndpoints(svc.endpoints.map((e): EndpointSpec => ({
          id: formatHostPort(e.host, e.port),
          host: e.host,
          port: e.port,
          weight: e.weight,
          health: 'passing',
          source: 'static',
        })))
      } else {
        queries.set(key, parseServiceKey(key, this.#config))
      }
    }
    this.registry.retain(used)
    const addresses = new Set<string>()
    for (const pool of this.registry.pools()) for (const ep of pool.endpoints) addresses.add(ep.address)
    this.#undici.retainAddresses(addresses)
    this.#providerQueries = queries
    for (const provider of this.#options.providers ?? []) provider.setWatched([...queries.values()])
  }

  #unboundReason(): string | undefined {
    if (!this.#slbMode || this.#binding !== undefined) return undefined
    return `SLB ${this.#config.control.slbId} is not bound to a cluster`
  }

  /** In SLB mode, only the Ingresses of the bound cluster: its namespace or `portway.io/cluster`. */
  #servedIngresses(): IngressSpec[] {
    const all = this.#rules.ingresses()
    if (!this.#slbMode) return all
    const cluster = this.#binding?.cluster.id
    if (cluster === undefined) return []
    return all.filter((i) => (i.annotations['portway.io/cluster'] ?? i.name.slice(0, i.name.indexOf('/'))) === cluster)
  }

  #dynamicServiceKeys(): string[] {
    const cluster = this.#binding?.cluster.id
    if (cluster === undefined) return []
    return this.#binding!.services.filter((s) => s.ports.length > 0).map((s) => `${cluster}/${s.name}`)
  }

  /** Opens a listener per service port of the bound cluster and closes those no longer bound. */
  #bindingListenerConfigs(): ListenerConfig[] {
    return bindingListenerConfigs(this.#binding, this.#config.control.listenAddress)
  }

  async #syncBindingListeners(): Promise<void> {
    const configs = (this.#options.role ?? 'standalone') === 'worker' ? this.#workerBindingListeners : this.#bindingListenerConfigs()
    const wanted = new Map<number, ListenerConfig>(configs.map((c) => [c.port, c]))
    for (const [port, entry] of this.#bindingListeners) {
      const config = wanted.get(port)
      if (config !== undefined && JSON.stringify(config) === entry.signature) continue
      this.#bindingListeners.delete(port)
      const index = this.#listeners.indexOf(entry.listener)
      if (index !== -1) this.#listeners.splice(index, 1)
      this.#bound.splice(this.#bound.findIndex((b) => b.port === port && b.name === entry.listener.config.name), 1)
      await entry.listener.close(this.#config.timeouts.shutdownMs)
      this.#log.info({ listener: entry.listener.config.name, port }, 'listener closed')
    }
    for (const [port, config] of wanted) {
      if (this.#bindingListeners.has(port)) continue
      try {
        const listener = await this.#bind(config, fixedServiceTable(config))
        this.#bindingListeners.set(port, { listener, signature: JSON.stringify(config) })
      } catch (err) {
        this.#log.error({ listener: config.name, port, err: (err as Error).message }, 'cannot open listener for bound service port')
      }
    }
  }

  /** Policy of a service key: the config's service of that name, or `serviceDefaults`. */
  #policyFor(key: string): ServicePolicy {
    const name = key.replace(/@.*$/, '')
    return this.#config.services.get(name)?.policy ?? this.#config.serviceDefaults
  }

  #hasDiscovery(): boolean {
    return this.#config.consul !== undefined || (this.#options.providers?.length ?? 0) > 0
  }

  /** A configured service is static when it lists endpoints, or when no discovery source exists. */
  #isStatic(name: string): boolean {
    const svc = this.#config.services.get(name)
    return svc !== undefined && (svc.endpoints.length > 0 || !this.#hasDiscovery())
  }

  #applyEndpoints(key: string, endpoints: readonly EndpointSpec[], source: string): void {
    if (!this.#providerQueries.has(key)) return
    const pool = this.registry.ensure(key, this.#policyFor(key))
    pool.setEndpoints(endpoints)
    this.#publishSnapshot()
    this.#log.info({ service: key, source, endpoints: endpoints.length }, 'endpoints updated')
    if (endpoints.length === 0) this.#log.warn({ service: key, source }, 'service has no endpoint; its routes respond with 503')
  }

  async #bind(listener: ListenerConfig, table?: RoutingTable): Promise<HttpListener | TcpListener> {
    const log = this.#log.child({ listener: listener.name })
    const accessLog = listener.accessLog && this.#config.logging.access ? this.#accessWriter : undefined
    const access = listenerAccess(listener)
    let bound: HttpListener | TcpListener
    if (listener.protocol === 'tcp' || listener.protocol === 'tls-passthrough') {
      bound = new TcpListener({
        config: listener,
        dataPlane: () => this.#dataPlane,
        timeouts: () => this.#config.timeouts,
        log,
        accessLog,
        onRecord: this.#options.onRecord,
        helloTimeoutMs: this.#config.timeouts.requestHeadersMs,
        allowClient: access === undefined ? undefined : (ip) => isAllowed(access, ip),
      })
    } else {
      bound = this.#createHttpListener(listener, log, accessLog, access, table)
    }
    const port = await bound.listen()
    this.#listeners.push(bound)
    this.#bound.push({ name: listener.name, protocol: listener.protocol, address: listener.address, port })
    log.info({ address: formatHostPort(listener.address, port), protocol: listener.protocol }, 'listener bound')
    return bound
  }

  #createHttpListener(listener: ListenerConfig, log: Logger, accessLog: AccessWriter | undefined, access: AccessList | undefined, table?: RoutingTable): HttpListener {
    const forwarder: Forwarder = this.#config.proxy.engine === 'undici' ? this.#undici : this.#httpProxy
    const isHttps = listener.protocol === 'https'
    const store = this.#certStore
    const fallback = listener.tls?.defaultCertificate
    const handler = new HttpHandler({
      listener: listener.name,
      proto: isHttps ? 'https' : 'http',
      dataPlane: table === undefined ? () => this.#dataPlane : () => ({ ...this.#dataPlane, table }),
      forwarder,
      upgrader: this.#httpProxy,
      accessLog,
      log,
      onRecord: this.#options.onRecord,
      onAttemptResult: recordOutcome,
      isDraining: () => this.#draining,
      maxAttempts: 3,
      certCovers: isHttps && store !== undefined ? (sni, host) => store.coversHost(store.selectName(sni, fallback), host) : undefined,
      trustedProxies: toCidrSet(this.#config.proxy.trustedProxies),
      httpsPort: () => this.#bound.find((l) => l.protocol === 'https')?.port,
      // Redirect only where HTTPS works: an HTTPS listener is bound and a certificate covers the host.
      servesHttps: (host) => {
        const certs = this.#certStore
        if (certs === undefined || !this.#bound.some((l) => l.protocol === 'https')) return false
        return certs.coversHost(certs.selectName(host), host)
      },
      access,
      upstreamTimeoutMs: () => this.#config.timeouts.upstreamResponseMs,
    })
    let tls: HttpsSettings | undefined
    if (isHttps && store !== undefined) {
      tls = { store, fallback, minVersion: listener.tls?.minVersion ?? 'TLSv1.2', alpn: listener.tls?.alpn ?? ['http/1.1'] }
    }
    return new HttpListener(listener, handler, this.#config.timeouts, log, tls)
  }

  async #loadCertificates(): Promise<void> {
    const store = new CertStore({
      certificates: this.#config.certificates,
      dataDir: this.#config.dataDir,
      defaultHosts: ['localhost'],
      pollIntervalMs: this.#options.pollMs ?? 5_000,
      logger: this.#log.child({ component: 'tls' }),
    })
    await store.load()
    // Workers run without rule watching but must still follow certificate rotation.
    if (this.#options.watch !== false || this.#options.role === 'worker') store.watch()
    this.#certStore = store
  }

  /** Maps Ingress `spec.tls` entries to configured certificates by `secretName`. */
  #applyIngressTls(): void {
    const store = this.#certStore
    if (store === undefined) return
    const names = new Set(store.names())
    const entries: IngressTlsHosts[] = []
    const ingresses = (this.#options.role ?? 'standalone') === 'worker' ? this.#workerIngresses : this.#rules.ingresses()
    for (const ingress of ingresses) {
      for (const tls of ingress.tls) {
        if (tls.secretName === undefined) continue
        if (!names.has(tls.secretName)) {
          this.#log.warn({ ingress: ingress.name, file: ingress.file, secretName: tls.secretName }, 'Ingress TLS secretName names no configured certificate; the default certificate serves its hosts')
          continue
        }
        entries.push({ certificate: tls.secretName, hosts: tls.hosts })
      }
    }
    for (const problem of store.setIngressHosts(entries)) this.#log.warn({ problem }, 'Ingress TLS host not covered')
  }

  async #startWatching(): Promise<void> {
    const pollMs = this.#options.pollMs ?? 2_000
    if (this.#config.file !== '<embedded>') {
      const configWatcher = new PathWatcher([this.#config.file], () => void this.reloadConfig(), { pollMs, debounceMs: 100 })
      await configWatcher.start()
      this.#watchers.push(configWatcher)
    }
    await this.#restartRuleWatcher()
  }

  #ruleWatcher: PathWatcher | undefined

  async #restartRuleWatcher(): Promise<void> {
    if (this.#options.watch === false) return
    this.#ruleWatcher?.close()
    this.#watchers = this.#watchers.filter((w) => w !== this.#ruleWatcher)
    const watcher = new PathWatcher(this.#rules.paths, () => void this.#reloadRules('rule files changed'), {
      pollMs: this.#options.pollMs ?? 2_000,
      debounceMs: 100,
      includeEntry: isRuleFileName,
    })
    this.#ruleWatcher = watcher
    this.#watchers.push(watcher)
    await watcher.start()
  }
}
