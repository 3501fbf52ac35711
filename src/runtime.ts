import Consul from 'consul'
import { startAdminServer, type AdminServer } from './admin/admin-server.js'
import { GatewayMetrics } from './admin/gateway-metrics.js'
import type { PoolView } from './admin/gateway-routes.js'
import type { GatewayConfig } from './config/types.js'
import { ConsulKvStore } from './control/consul-kv-store.js'
import { ControlService } from './control/control-service.js'
import { FileStore } from './control/file-store.js'
import type { ControlStore } from './control/store.js'
import { ConsulProvider } from './discovery/consul-provider.js'
import { resolveConsulConnection } from './discovery/consul-config.js'
import type { DiscoveryProvider } from './discovery/types.js'
import { Gateway, type DataPlaneSnapshot } from './gateway.js'
import type { Logger } from './log.js'
import type { AccessWriter } from './proxy/http-handler.js'

/** Everything one gateway process runs: data plane, discovery, control state and admin API. */
export interface Runtime {
  gateway: Gateway
  control: ControlService
  metrics: GatewayMetrics
  admin?: AdminServer
  /** Re-reads the config file and the rule files. */
  reload(): Promise<unknown>
  stop(): Promise<void>
}

export interface RuntimeOptions {
  /** Overrides the discovery sources (tests pass a provider with fast timings). */
  providers?: DiscoveryProvider[]
  watch?: boolean
  pollMs?: number
  /** `primary` opens no listener and reports snapshots for worker processes. */
  role?: 'standalone' | 'primary'
  onSnapshot?: (snapshot: DataPlaneSnapshot) => void
  /** Replaces the metrics text of `/metrics`, such as the sum over worker processes. */
  renderMetrics?: () => Promise<string>
  /** Writes access records; by default they go through `log`. */
  accessWriter?: AccessWriter
  /** Replaces the admin API's endpoint view, such as the merged view of worker processes. */
  endpointViews?: () => Promise<PoolView[]>
}

/**
 * Starts the gateway with its discovery providers, control service and admin API. A failure
 * part-way stops what already started and rethrows.
 */
export async function startRuntime(config: GatewayConfig, log: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const providers = options.providers ?? createProviders(config, log)
  let gateway: Gateway | undefined
  const metrics = new GatewayMetrics({
    dataPlane: () => gateway?.dataPlane,
    openConnections: () => gateway?.openConnections() ?? [],
  })
  gateway = new Gateway(config, {
    log,
    providers,
    watch: options.watch,
    pollMs: options.pollMs,
    onRecord: (record) => metrics.observe(record),
    onReload: (result) => metrics.onReload(result),
    role: options.role,
    onSnapshot: options.onSnapshot,
    accessWriter: options.accessWriter,
  })
  if (options.renderMetrics !== undefined) metrics.render = options.renderMetrics
  const store = await openControlStore(config, log)
  const control = new ControlService({
    store,
    quotas: config.control.quotas,
    log: log.child({ component: 'control' }),
  })
  let admin: AdminServer | undefined
  let stopWatching: (() => void) | undefined
  try {
    await control.start()
    // The admin API binds first: a service port stored in the control state must never take its
    // port, or the API that could undo the change would not start.
    if (config.admin !== undefined) {
      admin = await startAdminServer({ config: config.admin, gateway, control, metrics, log, endpointViews: options.endpointViews })
    }
    const slbId = config.control.slbId
    if (slbId !== undefined) await gateway.applyBinding(control.boundCluster(slbId))
    await gateway.start()
    if (slbId !== undefined) stopWatching = control.watchBoundCluster(slbId, (bound) => void gateway!.applyBinding(bound))
  } catch (err) {
    stopWatching?.()
    await admin?.close().catch(() => undefined)
    await gateway.stop().catch(() => undefined)
    await control.close().catch(() => undefined)
    throw err
  }
  const runningGateway = gateway
  return {
    gateway: runningGateway,
    control,
    metrics,
    admin,
    reload: async () => {
      await runningGateway.reloadConfig()
      return runningGateway.reloadRules('SIGHUP')
    },
    async stop() {
      stopWatching?.()
      // The admin API stays up while the gateway drains, so /readyz can report the drain.
      await runningGateway.stop()
      await admin?.close()
      await control.close()
    },
  }
}

function createProviders(config: GatewayConfig, log: Logger): DiscoveryProvider[] {
  if (config.consul === undefined) return []
  return [new ConsulProvider({ ...config.consul, logger: log.child({ component: 'consul' }) })]
}

async function openControlStore(config: GatewayConfig, log: Logger): Promise<ControlStore> {
  if (config.control.store === 'file') return FileStore.open(config.control.file)
  const connection = resolveConsulConnection(config.consul ?? {})
  // The client passes TLS options such as `ca` through to https.Agent, but its types omit them.
  const clientOptions: Record<string, unknown> = {
    host: connection.host,
    port: connection.port,
    secure: connection.secure,
    defaults: connection.token === undefined ? undefined : { token: connection.token },
  }
  if (connection.ca !== undefined) clientOptions.ca = [connection.ca]
  const client = new Consul(clientOptions as ConstructorParameters<typeof Consul>[0])
  return new ConsulKvStore({ client, prefix: config.control.consulPrefix, log: log.child({ component: 'control-store' }) })
}
