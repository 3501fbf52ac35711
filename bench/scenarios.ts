/**
 * The benchmark scenarios. Each one is a routing table plus the requests the load generator
 * sends; every target builds its own config from the same table.
 *
 * Only plain HTTP exists today. To add HTTPS, TCP or Consul scenarios, add a `transport` value
 * (or a discovery source), give each target a branch for it in `start`, and list the new
 * scenarios here; targets that cannot run one return a skip reason from `supports`.
 */
import type { LoadRequest } from './load/load-spec.js'

/** The two benchmark upstreams; `a` also serves the direct baseline. */
export type UpstreamName = 'a' | 'b'

export interface HostRoutes {
  host: string
  paths: Array<{ prefix: string; upstream: UpstreamName }>
}

export interface Scenario {
  name: string
  title: string
  transport: 'http'
  /** Part of the `--quick` suite, which `--check` and `--write-baseline` also run. */
  quick: boolean
  routes: () => HostRoutes[]
  requests: LoadRequest[]
  closeEachRequest: boolean
  /** Gateway proxy engines to run; the first is the default engine. */
  gatewayEngines: Array<'undici' | 'http-proxy'>
  /** Rewrite the config this often during the measured run; each target decides how it reloads. */
  reloadEveryMs?: number
  /** Extra facts to report: route build time and memory at idle. */
  reportsRouteTable?: boolean
}

export const APP_HOST = 'app.bench.test'

function appRoutes(): HostRoutes[] {
  return [{ host: APP_HOST, paths: [{ prefix: '/', upstream: 'a' }, { prefix: '/api', upstream: 'b' }] }]
}

const APP_GETS: LoadRequest[] = [
  { method: 'GET', path: '/', host: APP_HOST, bodyBytes: 0 },
  { method: 'GET', path: '/api/items', host: APP_HOST, bodyBytes: 0 },
]

/** Host name number `i` of a generated routing table. */
export function tableHost(i: number): string {
  return `h${i}.table.bench.test`
}

function hostTable(count: number): Scenario {
  const routes = (): HostRoutes[] => {
    const out: HostRoutes[] = []
    for (let i = 0; i < count; i++) out.push({ host: tableHost(i), paths: [{ prefix: '/', upstream: i % 2 === 0 ? 'a' : 'b' }] })
    return out
  }
  const middle = Math.floor(count / 2)
  return {
    name: `hosts-${count}`,
    title: `GET through a table of ${count.toLocaleString('en-US')} hosts (request host ${tableHost(middle)})`,
    transport: 'http',
    quick: false,
    routes,
    requests: [{ method: 'GET', path: '/', host: tableHost(middle), bodyBytes: 0 }],
    closeEachRequest: false,
    gatewayEngines: ['undici'],
    reportsRouteTable: true,
  }
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'keepalive',
    title: 'Keep-alive GET, 100-byte body, host and path routing to two upstreams',
    transport: 'http',
    quick: true,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: false,
    gatewayEngines: ['undici', 'http-proxy'],
  },
  {
    name: 'close',
    title: 'One new downstream connection per request (`connection: close`)',
    transport: 'http',
    quick: true,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: true,
    gatewayEngines: ['undici'],
  },
  {
    name: 'post-64k',
    title: 'Keep-alive POST with a 64 KiB request body',
    transport: 'http',
    quick: true,
    routes: appRoutes,
    requests: [{ method: 'POST', path: '/upload', host: APP_HOST, bodyBytes: 64 * 1024 }],
    closeEachRequest: false,
    gatewayEngines: ['undici'],
  },
  hostTable(10),
  hostTable(1_000),
  hostTable(10_000),
  {
    name: 'reload',
    title: 'Keep-alive GET while the routing config is rewritten every second',
    transport: 'http',
    quick: false,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: false,
    gatewayEngines: ['undici'],
    reloadEveryMs: 1_000,
  },
]

/** The routing table after reload number `n`: the base table plus one host that changes each time. */
export function reloadedRoutes(scenario: Scenario, n: number): HostRoutes[] {
  return [...scenario.routes(), { host: `reload-${n}.bench.test`, paths: [{ prefix: '/', upstream: 'a' }] }]
}
