import { formatHostPort } from './config/address.js'
import type { ListenerConfig } from './config/types.js'
import type { BoundCluster } from './control/model.js'
import type { EndpointSpec, ServiceQuery } from './discovery/types.js'
import type { IngressSpec } from './ingress/model.js'
import { compileRoutes, type RoutingTable } from './ingress/routing-table.js'

export type ControlServiceTarget = { endpoints: EndpointSpec[] } | { query: ServiceQuery }

/** Upstream targets of the bound cluster's services, keyed `clusterId/name`. */
export function controlTargets(bound: BoundCluster | undefined): Map<string, ControlServiceTarget> {
  const out = new Map<string, ControlServiceTarget>()
  if (bound === undefined) return out
  for (const svc of bound.services) {
    const key = `${svc.clusterId}/${svc.name}`
    const source = svc.source
    if (source.kind === 'static') {
      out.set(key, {
        endpoints: source.endpoints.map((e) => ({
          id: formatHostPort(e.host, e.port),
          host: e.host,
          port: e.port,
          weight: e.weight ?? 1,
          health: 'passing',
          source: 'control',
        })),
      })
    } else {
      const tags = [...(bound.cluster.consul?.tags ?? []), ...(source.tags ?? [])]
      out.set(key, { query: { key, name: source.service, tags, datacenter: bound.cluster.consul?.datacenter } })
    }
  }
  return out
}

/** Builds a table whose only route sends every request to the listener's service. */
export function fixedServiceTable(listener: ListenerConfig): RoutingTable | undefined {
  if (listener.protocol !== 'http' || listener.service === undefined) return undefined
  const service = listener.service
  const ingress: IngressSpec = { name: `slb/${listener.name}`, file: '<binding>', rules: [], tls: [], annotations: {}, defaultBackend: { service } }
  return compileRoutes([ingress], () => ({ service })).table
}

/** Listener configs for the service ports of the bound cluster. */
export function bindingListenerConfigs(binding: BoundCluster | undefined, listenAddress: string): ListenerConfig[] {
  const out: ListenerConfig[] = []
  for (const svc of binding?.services ?? []) {
    for (const port of svc.ports) {
      out.push({
        name: `${svc.clusterId}/${svc.name}/${port.name}`,
        address: listenAddress,
        port: port.port,
        protocol: port.protocol === 'tcp' ? 'tcp' : 'http',
        service: `${svc.clusterId}/${svc.name}`,
        routes: [],
        accessLog: true,
        allowCidrs: [],
        denyCidrs: [],
      })
    }
  }
  return out
}
