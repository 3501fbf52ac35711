import type { ControlService } from '../control/control-service.js'
import type { ProviderStatus } from '../discovery/types.js'
import type { Gateway } from '../gateway.js'
import type { UpstreamPool } from '../proxy/upstream-pool.js'
import { AdminError, sendErrorBody, sendJson } from './admin-http.js'
import type { GatewayMetrics } from './gateway-metrics.js'
import { describeRoute, explainRoute } from './route-explain.js'
import type { Router } from './router.js'

/** Sources of the read-only, health and metrics routes. */
export interface GatewayRouteContext {
  gateway: Gateway
  control?: ControlService
  metrics: GatewayMetrics
  /** Replaces the local endpoint view, such as the merged view of worker processes. */
  endpointViews?: () => Promise<PoolView[]>
}

/** Registers `/healthz`, `/readyz`, `/metrics` and the read-only `/v1` views of the gateway. */
export function registerGatewayRoutes(router: Router, context: GatewayRouteContext): void {
  const { gateway, metrics } = context
  router.on('GET', '/healthz', ({ res }) => sendJson(res, 200, { status: 'ok' }))
  router.on('GET', '/readyz', ({ res }) => {
    const readiness = checkReadiness(context)
    sendJson(res, readiness.ready ? 200 : 503, readiness)
  })
  router.on('GET', '/metrics', async ({ res }) => {
    const text = await metrics.render()
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' })
    res.end(text)
  })
  router.on('GET', '/v1/listeners', ({ res }) => {
    sendJson(res, 200, { listeners: listListeners(gateway) })
  })
  router.on('GET', '/v1/routes', ({ res }) => {
    const { generation, table } = gateway.dataPlane
    const routes = table.routes.map(describeRoute)
    sendJson(res, 200, { generation, routes, rejected: table.rejected })
  })
  router.on('GET', '/v1/routes/explain', ({ res, query }) => {
    const host = query.get('host')
    if (host === null || host === '') {
      const message = 'query parameter host is required, e.g. ?host=app.example.test&path=/'
      throw new AdminError('GW_ADMIN_INVALID_QUERY', message)
    }
    const path = query.get('path') ?? '/'
    if (!path.startsWith('/')) {
      const message = `query parameter path must start with "/", got ${JSON.stringify(path)}`
      throw new AdminError('GW_ADMIN_INVALID_QUERY', message)
    }
    const { generation, table } = gateway.dataPlane
    const explanation = explainRoute(table, host, path)
    if (explanation.matched) {
      sendJson(res, 200, { generation, ...explanation })
      return
    }
    const message = `no rule matches host "${host}" and path "${explanation.path}"`
    const error = { code: 'GW_ROUTE_NOT_FOUND', message }
    sendJson(res, 404, { error, generation, ...explanation })
  })
  const views = async (): Promise<PoolView[]> => {
    if (context.endpointViews !== undefined) return context.endpointViews()
    return [...gateway.dataPlane.registry.pools()].map(describePool)
  }
  router.on('GET', '/v1/endpoints', async ({ res }) => {
    const pools = (await views()).sort((a, b) => a.service.localeCompare(b.service))
    sendJson(res, 200, { services: pools })
  })
  router.on('GET', '/v1/endpoints/:service', async ({ res, params }) => {
    const key = params.service!
    const pool = (await views()).find((p) => p.service === key)
    if (pool === undefined) {
      const message =
        `service ${JSON.stringify(key)} has no upstream pool; ` +
        'GET /v1/endpoints lists the service keys in use'
      sendErrorBody(res, 404, { code: 'GW_ADMIN_NOT_FOUND', message })
      return
    }
    sendJson(res, 200, pool)
  })
  router.on('GET', '/v1/discovery', ({ res }) => {
    sendJson(res, 200, { providers: gateway.providerStatus().map(describeProvider) })
  })
}

interface ListenerView {
  name: string
  protocol: string
  address: string
  /** The bound port when bound, else the configured one. */
  port: number
  bound: boolean
}

function listListeners(gateway: Gateway): ListenerView[] {
  const bound = new Map(gateway.listeners.map((l) => [l.name, l]))
  const configured = new Set(gateway.config.listeners.map((l) => l.name))
  // Listeners opened for the bound cluster's service ports are not in the config file.
  const fromBinding: ListenerView[] = gateway.listeners
    .filter((l) => !configured.has(l.name))
    .map((l) => ({ name: l.name, protocol: l.protocol, address: l.address, port: l.port, bound: true }))
  return [...gateway.config.listeners.map((l) => {
    const live = bound.get(l.name)
    return {
      name: l.name,
      protocol: l.protocol,
      address: l.address,
      port: live?.port ?? l.port,
      bound: live !== undefined,
    }
  }), ...fromBinding]
}

/** One service's endpoints as the admin API shows them. */
export interface PoolView {
  service: string
  revision: number
  policy: string
  rotation: { healthy: number; total: number; panic: boolean }
  endpoints: Array<{
    id: string
    address: string
    weight: number
    health: string
    active?: string
    ejected: boolean
    available: boolean
    listed: boolean
    inflight: number
    source: string
    tags: string[]
    meta: Record<string, string>
  }>
}

/** Describes one upstream pool for the endpoint views. */
export function describePool(pool: UpstreamPool): PoolView {
  return {
    service: pool.key,
    revision: pool.revision,
    policy: pool.policy.balancer.policy,
    rotation: pool.healthSummary(),
    endpoints: pool.endpoints.map((ep) => ({
      id: ep.id,
      address: ep.address,
      weight: ep.weight,
      health: ep.spec.health,
      ...pool.endpointStatus(ep.id),
      available: ep.available,
      listed: ep.listed,
      inflight: ep.inflight,
      source: ep.spec.source,
      tags: ep.spec.tags ?? [],
      meta: ep.spec.meta ?? {},
    })),
  }
}

function describeProvider(status: ProviderStatus): unknown {
  const lastSuccessAt = status.lastSuccessAt
  return {
    ...status,
    lastSuccessAt: lastSuccessAt === undefined ? undefined : new Date(lastSuccessAt).toISOString(),
  }
}

export interface Readiness {
  ready: boolean
  /** Reasons the gateway is not ready, empty when it is ready. */
  reasons: string[]
  /** Degraded conditions that do not make the gateway unready. */
  warnings: string[]
  discovery: unknown[]
}

/**
 * Decides readiness. Not ready: the gateway has not started or is draining, the control state
 * has not loaded, or a discovery source is unreachable and has never delivered endpoints. An
 * unreachable source that delivered endpoints before only warns, because the gateway keeps
 * routing to the last known endpoints.
 */
export function checkReadiness(
  context: Pick<GatewayRouteContext, 'gateway' | 'control'>,
): Readiness {
  const { gateway, control } = context
  const reasons: string[] = []
  const warnings: string[] = []
  if (gateway.draining) reasons.push('the gateway is draining for shutdown')
  else if (!gateway.ready) reasons.push('the gateway has not finished starting')
  if (control !== undefined && !isControlLoaded(control)) {
    reasons.push('the control state has not been loaded yet')
  }

  const providers = gateway.providerStatus()
  for (const p of providers) {
    if (p.reachable) continue
    const detail = p.lastError === undefined ? '' : `: ${p.lastError}`
    if (p.lastSuccessAt === undefined) {
      const reason = `discovery source ${p.source} is unreachable and has delivered no endpoints yet`
      reasons.push(reason + detail)
    } else {
      const warning = `discovery source ${p.source} is unreachable; serving its last known endpoints`
      warnings.push(warning + detail)
    }
  }
  const unbound = gateway.dataPlane.unbound
  if (unbound !== undefined) warnings.push(`${unbound}; every request gets 503 GW_LISTEN_UNBOUND`)
  const discovery = providers.map(describeProvider)
  return { ready: reasons.length === 0, reasons, warnings, discovery }
}

function isControlLoaded(control: ControlService): boolean {
  try {
    // The revision getter throws until start() has loaded a state.
    void control.revision
    return true
  } catch {
    return false
  }
}
