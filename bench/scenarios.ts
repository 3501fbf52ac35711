/**
 * The benchmark scenarios. Each one is a routing table plus the load the harness applies; every
 * target builds its own config from the same table.
 *
 * `transport` names what the target listens for (HTTP, HTTPS or raw TCP) and `load` says how the
 * harness drives and measures it. A target that cannot serve a scenario returns a skip reason
 * from `supports`.
 */
import type { LoadRequest } from './load/load-spec.js'

/** The two benchmark upstreams; `a` also serves the direct baseline. */
export type UpstreamName = 'a' | 'b'

export interface HostRoutes {
  host: string
  /** `service` names a Consul service in place of the upstream; only the gateway reads it. */
  paths: Array<{ prefix: string; upstream: UpstreamName; service?: string }>
}

/** What the target listens for; HTTPS and TCP targets forward plain HTTP or TCP upstream. */
export type Transport = 'http' | 'https' | 'tcp'

/**
 * How the harness measures a scenario: `requests` runs autocannon, `tcp-bulk` pushes bytes into
 * the TCP sink, `tcp-echo` runs 100-byte round trips against the TCP echo server,
 * `idle-connections` opens idle keep-alive connections in steps and reads RSS, and
 * `consul-follow` times how fast the gateway follows Consul changes.
 */
export type LoadShape = 'requests' | 'tcp-bulk' | 'tcp-echo' | 'idle-connections' | 'consul-follow'

export interface Scenario {
  name: string
  title: string
  transport: Transport
  load: LoadShape
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
  /** Connections for this scenario in place of `--connections`. */
  connections?: number
  /** When set, only these targets run; the others are skipped. */
  targetNames?: readonly string[]
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
    load: 'requests',
    quick: false,
    routes,
    requests: [{ method: 'GET', path: '/', host: tableHost(middle), bodyBytes: 0 }],
    closeEachRequest: false,
    gatewayEngines: ['undici'],
    reportsRouteTable: true,
  }
}

/** Connection counts of the idle-memory steps, in order. */
export const IDLE_STEPS: readonly number[] = [0, 1_000, 2_500, 5_000]

/** Consul services the consul-follow gateway watches, one host rule each. */
export const CONSUL_SERVICES = 1_000

/** Host name of Consul service number `i` in the consul-follow scenario. */
export function consulHost(i: number): string {
  return `s${i}.consul.bench.test`
}

/** Name of Consul service number `i` in the consul-follow scenario. */
export function consulService(i: number): string {
  return `svc-${i}`
}

/** One host per Consul service; `upstream` is unused because Consul supplies the endpoints. */
function consulRoutes(): HostRoutes[] {
  const out: HostRoutes[] = []
  for (let i = 0; i < CONSUL_SERVICES; i++) {
    out.push({ host: consulHost(i), paths: [{ prefix: '/', upstream: 'a', service: consulService(i) }] })
  }
  return out
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'keepalive',
    title: 'Keep-alive GET, 100-byte body, host and path routing to two upstreams',
    transport: 'http',
    load: 'requests',
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
    load: 'requests',
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
    load: 'requests',
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
    load: 'requests',
    quick: false,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: false,
    gatewayEngines: ['undici'],
    reloadEveryMs: 1_000,
  },
  {
    name: 'https-keepalive',
    title: 'Keep-alive GET over HTTPS (RSA-2048 certificate), TLS terminated by the target',
    transport: 'https',
    load: 'requests',
    quick: false,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: false,
    gatewayEngines: ['undici'],
  },
  {
    name: 'https-handshakes',
    title: 'One new TLS connection per request: full handshakes (RSA-2048), no session resumption',
    transport: 'https',
    load: 'requests',
    quick: false,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: true,
    gatewayEngines: ['undici'],
  },
  {
    name: 'tcp-bulk',
    title: 'Bulk upload through a TCP listener into a sink, one connection',
    transport: 'tcp',
    load: 'tcp-bulk',
    quick: false,
    routes: appRoutes,
    requests: [],
    closeEachRequest: false,
    gatewayEngines: ['undici'],
    connections: 1,
  },
  {
    name: 'tcp-small',
    title: '100-byte ping/pong round trips through a TCP listener to an echo server',
    transport: 'tcp',
    load: 'tcp-echo',
    quick: false,
    routes: appRoutes,
    requests: [],
    closeEachRequest: false,
    gatewayEngines: ['undici'],
  },
  {
    name: 'idle-memory',
    title: `RSS growth with ${IDLE_STEPS.map((n) => n.toLocaleString('en-US')).join(' / ')} idle keep-alive connections`,
    transport: 'http',
    load: 'idle-connections',
    quick: false,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: false,
    gatewayEngines: ['undici'],
  },
  {
    name: 'consul-follow',
    title: `Time from a Consul change to the first request routed by it; CPU with ${CONSUL_SERVICES.toLocaleString('en-US')} services watched`,
    transport: 'http',
    load: 'consul-follow',
    quick: false,
    routes: consulRoutes,
    requests: [{ method: 'GET', path: '/', host: consulHost(0), bodyBytes: 0 }],
    closeEachRequest: false,
    gatewayEngines: ['undici'],
  },
  {
    name: 'workers',
    title: 'The keepalive load with `workers: 1` and `workers: 2`',
    transport: 'http',
    load: 'requests',
    quick: false,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: false,
    gatewayEngines: ['undici'],
    targetNames: ['direct', 'gateway-undici', 'gateway-workers-2', 'gateway-workers-2-unpinned'],
  },
  {
    name: 'policies',
    title: 'The keepalive load with each balancing policy, two endpoints per service',
    transport: 'http',
    load: 'requests',
    quick: false,
    routes: appRoutes,
    requests: APP_GETS,
    closeEachRequest: false,
    gatewayEngines: ['undici'],
    targetNames: ['policy-round-robin', 'policy-weighted-round-robin', 'policy-least-connections', 'policy-consistent-hash', 'policy-two-choices'],
  },
]

/** The routing table after reload number `n`: the base table plus one host that changes each time. */
export function reloadedRoutes(scenario: Scenario, n: number): HostRoutes[] {
  return [...scenario.routes(), { host: `reload-${n}.bench.test`, paths: [{ prefix: '/', upstream: 'a' }] }]
}
