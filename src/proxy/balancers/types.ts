/**
 * Runtime view of one upstream endpoint shared by balancers, health checks and forwarders.
 * Balancers read it; the upstream pool owns the counters.
 */
export interface Endpoint {
  readonly id: string
  /** `host:port`, as used in logs and access records. */
  readonly address: string
  readonly host: string
  readonly port: number
  /** Configured weight; 0 drains the endpoint. */
  weight: number
  /** Requests or connections currently open on this endpoint. */
  inflight: number
  /** False when health checks, passive ejection or the source took it out of rotation. */
  available: boolean
}

/** What a balancer may look at when it picks an endpoint for one request or connection. */
export interface PickContext {
  clientIp: string
  /** Returns a request header value (lower-case name), for header hashing. */
  header?(name: string): string | undefined
  /** Returns a request cookie value, for cookie hashing. */
  cookie?(name: string): string | undefined
  /** Endpoints already tried for this request; a retry must not pick them again. */
  exclude?: ReadonlySet<Endpoint>
}

export interface Balancer {
  /** Returns the endpoint for one request, or undefined when none is available. */
  pick(ctx: PickContext): Endpoint | undefined
  /** Replaces the endpoint list; called when discovery or health changes it. */
  update(endpoints: readonly Endpoint[]): void
}
