/** Health of an endpoint as its source reports it. */
export type EndpointHealth = 'passing' | 'warning' | 'critical'

/** One upstream instance of a service, as a discovery source emits it. */
export interface EndpointSpec {
  /** Stable key within the service: `host:port` for static entries, `node/serviceId` for Consul. */
  id: string
  host: string
  port: number
  /** Relative share of traffic; 0 drains the endpoint. */
  weight: number
  health: EndpointHealth
  /** Source of the endpoint: `static` or `consul`. */
  source: string
  tags?: string[]
  meta?: Record<string, string>
}

/** Service a route or TCP listener requests a provider to watch. */
export interface ServiceQuery {
  /** Key the gateway uses for the resulting endpoint set. */
  key: string
  /** Service name in the source (the Consul service name). */
  name: string
  tags?: string[]
  datacenter?: string
  /** When set, only instances listening on this port are kept. */
  port?: number
}

export interface ProviderStatus {
  source: string
  /** False while the source cannot be reached; the last known endpoints keep serving. */
  reachable: boolean
  lastError?: string
  lastSuccessAt?: number
  watched: number
}

export type EndpointListener = (key: string, endpoints: readonly EndpointSpec[]) => void

/** A source of endpoint sets, independent of routing. */
export interface DiscoveryProvider {
  readonly source: string
  /** Replaces the set of watched services: starts new watches and stops the others. */
  setWatched(queries: readonly ServiceQuery[]): void
  onChange(listener: EndpointListener): void
  status(): ProviderStatus
  close(): Promise<void>
}
