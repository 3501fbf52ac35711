export type ListenerProtocol = 'http' | 'https' | 'tcp' | 'tls-passthrough'
export type ForwardEngine = 'undici' | 'http-proxy'

export interface ListenerTlsConfig {
  /** Certificate name used when the SNI name is missing or unknown. */
  defaultCertificate?: string
  minVersion: 'TLSv1.2' | 'TLSv1.3'
  alpn: string[]
}

export interface PassthroughRoute {
  /** Exact names or one-label wildcards such as `*.example.test`. */
  hosts: string[]
  service: string
}

export interface ListenerConfig {
  name: string
  address: string
  port: number
  protocol: ListenerProtocol
  /** Target service of a `tcp` listener, and the fallback of a `tls-passthrough` one. */
  service?: string
  /** SNI routes of a `tls-passthrough` listener. */
  routes: PassthroughRoute[]
  tls?: ListenerTlsConfig
  proxyProtocol?: 'v1' | 'v2'
  accessLog: boolean
  /** Client CIDR blocks allowed to connect; empty allows all. Deny wins over allow. */
  allowCidrs: string[]
  denyCidrs: string[]
}

export interface StaticEndpointConfig {
  host: string
  port: number
  weight: number
}

export type BalancerPolicyName = 'round-robin' | 'weighted-round-robin' | 'least-connections' | 'consistent-hash' | 'two-choices'

/** Load balancing, health and protection settings of a service. */
export interface ServicePolicy {
  balancer: {
    policy: BalancerPolicyName
    /** Hash key of `consistent-hash`: the client IP, a header or a cookie. */
    hashOn: 'client-ip' | { header: string } | { cookie: string }
    boundedLoadFactor: number
  }
  healthCheck?: {
    type: 'http' | 'tcp'
    path: string
    /** Status ranges counted as healthy, such as `[[200, 399]]`. */
    expectedStatuses: Array<[number, number]>
    host?: string
    intervalMs: number
    timeoutMs: number
    healthyThreshold: number
    unhealthyThreshold: number
  }
  outlierDetection: {
    /** Consecutive connect failures or 5xx that eject an endpoint; 0 turns ejection off. */
    consecutiveFailures: number
    baseEjectionMs: number
    maxEjectionMs: number
    maxEjectionPercent: number
  }
  /** Below this share of healthy endpoints, traffic spreads over all of them; 0 disables. */
  panicThresholdPercent: number
  /** Ramp length for endpoints that join or come back; 0 disables. */
  slowStartMs: number
  /** Session persistence by an inserted cookie. */
  stickyCookie?: { name: string; maxAgeSeconds?: number }
  /** Open requests or connections allowed per service; 0 is unlimited. */
  maxConnections: number
}

export interface ServiceConfig {
  name: string
  policy: ServicePolicy
  /** Static endpoints; a service without them is looked up in Consul. */
  endpoints: StaticEndpointConfig[]
  /** Consul service name when it differs from `name`. */
  consulName?: string
  tags: string[]
}

export interface TimeoutConfig {
  /** Time allowed to open a connection to an upstream. */
  connectMs: number
  /** Time from sending a request upstream to receiving its response headers. */
  upstreamResponseMs: number
  /** Maximum silence on an upstream response body or a TCP connection. */
  idleMs: number
  /** Time a client has to send complete request headers. */
  requestHeadersMs: number
  /** How long an idle downstream keep-alive connection stays open. */
  keepAliveMs: number
  /** How long shutdown waits for in-flight requests before closing their connections. */
  shutdownMs: number
}

export interface ConsulConfig {
  address?: string
  token?: string
  caFile?: string
  datacenter?: string
  healthStates: Array<'passing' | 'warning'>
  waitMs?: number
  /** Keep only instances whose port equals an Ingress backend's `port.number`; default false. */
  matchPortNumber: boolean
  /** Requests one service's watch may send back to back before the churn limit applies. */
  churnBurst: number
  /** Time to earn one more request once the burst is spent. */
  churnRefillMs: number
}

export interface CertificateConfig {
  name: string
  certFile: string
  keyFile: string
  chainFile?: string
  hosts: string[]
}

export interface DemoUpstreamConfig {
  name: string
  host: string
  port: number
}

export interface AdminConfig {
  address: string
  port: number
  /** Mutual TLS; required when the admin API listens on a non-loopback address. */
  tls?: { certFile: string; keyFile: string; clientCaFile: string }
}

export interface ControlConfig {
  /** The SLB instance this gateway serves; unset means the gateway serves its config as is. */
  slbId?: string
  store: 'file' | 'consul'
  /** Path of the file store. */
  file: string
  /** Key prefix of the Consul KV store. */
  consulPrefix: string
  /** Address the listeners of the bound cluster's service ports bind to. */
  listenAddress: string
  quotas: { clustersPerAccount: number; workerNodesPerCluster: number }
}

export interface GatewayConfig {
  /** Absolute path of the config file, or `<embedded>`. */
  file: string
  listeners: ListenerConfig[]
  services: Map<string, ServiceConfig>
  /** Absolute paths of rule files and directories. */
  rules: string[]
  ingress: {
    className: string
    defaultClass: boolean
    /** Rule files larger than this are rejected, so one file cannot stall or exhaust the gateway. */
    maxFileBytes: number
  }
  logging: { level: string; destination: string; asyncWrites: boolean; access: boolean }
  timeouts: TimeoutConfig
  proxy: {
    engine: ForwardEngine
    connectionsPerEndpoint: number
    /** CIDR blocks of outer proxies whose X-Forwarded-Proto is believed. */
    trustedProxies: string[]
  }
  consul?: ConsulConfig
  certificates: CertificateConfig[]
  /** Folder for generated state such as the default certificate. */
  dataDir: string
  /** Echo servers the gateway starts as child processes, for the embedded demo. */
  demoUpstreams: DemoUpstreamConfig[]
  /** Admin API; undefined when disabled. */
  admin?: AdminConfig
  control: ControlConfig
  /** Policy of services that the config file does not list, such as Consul-only ones. */
  serviceDefaults: ServicePolicy
  /** Data-plane worker processes; 1 runs everything in one process. */
  workers: number
}
