import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, resolve } from 'node:path'
import { GatewayError, formatProblem, type Problem } from '../errors.js'
import { parseCidr } from '../util/cidr.js'
import { parseHostPort } from './address.js'
import { DEFAULT_POLICY, POLICY_KEYS, readServicePolicy } from './service-policy.js'
import { Checker, type FieldPath } from './checker.js'
import type {
  AdminConfig,
  CertificateConfig,
  ControlConfig,
  ConsulConfig,
  DemoUpstreamConfig,
  GatewayConfig,
  ListenerConfig,
  ServiceConfig,
  ServicePolicy,
  TimeoutConfig,
} from './types.js'
import { parseYamlDocuments } from './yaml-source.js'

const TOP_LEVEL_KEYS = [
  'listeners', 'services', 'rules', 'ingress', 'logging', 'timeouts', 'proxy', 'consul',
  'certificates', 'dataDir', 'demoUpstreams', 'admin', 'control', 'serviceDefaults', 'workers',
]

export const DEFAULT_TIMEOUTS: TimeoutConfig = Object.freeze({
  connectMs: 5_000,
  upstreamResponseMs: 60_000,
  idleMs: 300_000,
  requestHeadersMs: 30_000,
  keepAliveMs: 65_000,
  shutdownMs: 10_000,
})

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; problems: Problem[] }

/** Reads and validates a gateway config file. */
export function loadConfigFile(file: string): ConfigResult {
  const absolute = resolve(file)
  let text: string
  try {
    text = readFileSync(absolute, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err)
    return { ok: false, problems: [{ file: absolute, path: '', message: `cannot read file (${reason})` }] }
  }
  return parseConfig(absolute, text, dirname(absolute))
}

/** Validates config text; relative paths resolve against `baseDir`. Reports every problem. */
export function parseConfig(file: string, text: string, baseDir: string): ConfigResult {
  const { docs, problems } = parseYamlDocuments(file, text)
  if (problems.length > 0) return { ok: false, problems }
  if (docs.length !== 1) {
    return { ok: false, problems: [{ file, path: '', message: `expected one YAML document, found ${docs.length}` }] }
  }
  const check = new Checker(docs[0]!)
  const root = check.object(docs[0]!.value, [], true) ?? {}
  check.unknownKeys(root, [], TOP_LEVEL_KEYS)

  const defaultsObj = check.object(root.serviceDefaults, ['serviceDefaults']) ?? {}
  check.unknownKeys(defaultsObj, ['serviceDefaults'], POLICY_KEYS)
  const serviceDefaults = readServicePolicy(check, defaultsObj, ['serviceDefaults'], DEFAULT_POLICY)
  const services = readServices(check, root.services, serviceDefaults)
  const config: GatewayConfig = {
    file,
    listeners: readListeners(check, root.listeners),
    services,
    rules: readRulePaths(check, root.rules, baseDir),
    ingress: readIngress(check, root.ingress),
    logging: readLogging(check, root.logging, baseDir),
    timeouts: readTimeouts(check, root.timeouts),
    proxy: readProxy(check, root.proxy),
    consul: readConsul(check, root.consul, baseDir),
    certificates: readCertificates(check, root.certificates, baseDir),
    dataDir: resolve(baseDir, check.string(root.dataDir, ['dataDir']) ?? 'data'),
    demoUpstreams: readDemoUpstreams(check, root.demoUpstreams),
    admin: readAdmin(check, root.admin, baseDir),
    control: readControl(check, root.control, baseDir),
    serviceDefaults,
    workers: check.integer(root.workers, ['workers'], 1, 64) ?? 1,
  }
  checkReferences(check, config)
  if (check.problems.length > 0) return { ok: false, problems: sortByLine(check.problems) }
  return { ok: true, config }
}

/** Loads a config or throws one error that lists every problem. */
export function loadConfigOrThrow(file: string): GatewayConfig {
  const result = loadConfigFile(file)
  if (result.ok) return result.config
  const lines = result.problems.map((p) => `  ${formatProblem(p)}`).join('\n')
  throw new GatewayError('GW_CFG_INVALID', `invalid config ${file}:\n${lines}`)
}

const LISTENER_KEYS = ['name', 'address', 'port', 'protocol', 'service', 'routes', 'tls', 'proxyProtocol', 'accessLog', 'allowCidrs', 'denyCidrs']

function readListeners(check: Checker, value: unknown): ListenerConfig[] {
  const list = check.array(value, ['listeners'], true) ?? []
  if (Array.isArray(value) && list.length === 0) check.report(['listeners'], 'must list at least one listener')
  const out: ListenerConfig[] = []
  list.forEach((item, i) => {
    const path = ['listeners', i]
    const obj = check.object(item, path, true)
    if (!obj) return
    check.unknownKeys(obj, path, LISTENER_KEYS)
    const protocol = check.oneOf(obj.protocol, [...path, 'protocol'], ['http', 'https', 'tcp', 'tls-passthrough']) ?? 'http'
    const port = check.integer(obj.port, [...path, 'port'], 0, 65535)
    if (obj.port === undefined) check.report([...path, 'port'], 'is required')
    const listener: ListenerConfig = {
      name: check.string(obj.name, [...path, 'name']) ?? `${protocol}-${port ?? i}`,
      address: readListenAddress(check, obj.address, [...path, 'address']),
      port: port ?? 0,
      protocol,
      service: check.string(obj.service, [...path, 'service']),
      routes: readPassthroughRoutes(check, obj.routes, [...path, 'routes']),
      tls: readListenerTls(check, obj.tls, [...path, 'tls'], protocol === 'https'),
      proxyProtocol: check.oneOf(obj.proxyProtocol, [...path, 'proxyProtocol'], ['v1', 'v2']),
      accessLog: check.boolean(obj.accessLog, [...path, 'accessLog']) ?? true,
      allowCidrs: readCidrs(check, obj.allowCidrs, [...path, 'allowCidrs']),
      denyCidrs: readCidrs(check, obj.denyCidrs, [...path, 'denyCidrs']),
    }
    if (protocol === 'tcp' && listener.service === undefined) {
      check.report([...path, 'service'], 'is required for a tcp listener')
    }
    if (protocol === 'tls-passthrough' && listener.service === undefined && listener.routes.length === 0) {
      check.report([...path, 'routes'], 'a tls-passthrough listener needs routes or a default service')
    }
    out.push(listener)
  })
  const seen = new Map<string, number>()
  out.forEach((l, i) => {
    const key = `${l.address}:${l.port}`
    const first = seen.get(key)
    if (first !== undefined && l.port !== 0) {
      check.report(['listeners', i, 'port'], `${key} is already used by listeners[${first}]`)
    }
    seen.set(key, i)
    const sameName = out.findIndex((o) => o.name === l.name)
    if (sameName !== i) check.report(['listeners', i, 'name'], `duplicate listener name "${l.name}"`)
  })
  return out
}

/** Reads a listen address: an IPv4 or IPv6 literal, or `localhost`. */
function readListenAddress(check: Checker, value: unknown, path: FieldPath): string {
  const text = check.string(value, path)
  if (text === undefined) return '0.0.0.0'
  if (isIP(text) === 0 && text !== 'localhost') {
    check.report(path, `"${text}" is not an IP address; use 0.0.0.0, 127.0.0.1, :: or another local address`)
  }
  return text
}

function readCidrs(check: Checker, value: unknown, path: FieldPath): string[] {
  return (check.array(value, path) ?? [])
    .map((c, i) => {
      const text = check.string(c, [...path, i], true)
      if (text !== undefined && parseCidr(text) === undefined) {
        check.report([...path, i], `"${text}" is not an address or CIDR block such as 10.0.0.0/8 or 2001:db8::/32`)
        return undefined
      }
      return text
    })
    .filter((c): c is string => c !== undefined)
}

function readPassthroughRoutes(check: Checker, value: unknown, path: FieldPath): ListenerConfig['routes'] {
  const list = check.array(value, path) ?? []
  const out: ListenerConfig['routes'] = []
  list.forEach((item, i) => {
    const obj = check.object(item, [...path, i], true)
    if (!obj) return
    check.unknownKeys(obj, [...path, i], ['hosts', 'service'])
    const hosts = (check.array(obj.hosts, [...path, i, 'hosts'], true) ?? [])
      .map((h, j) => check.string(h, [...path, i, 'hosts', j], true))
      .filter((h): h is string => h !== undefined)
      .map((h) => h.toLowerCase())
    const service = check.string(obj.service, [...path, i, 'service'], true)
    if (service !== undefined) out.push({ hosts, service })
  })
  return out
}

function readListenerTls(check: Checker, value: unknown, path: FieldPath, isHttps: boolean): ListenerConfig['tls'] {
  const obj = check.object(value, path)
  if (!obj) return isHttps ? { minVersion: 'TLSv1.2', alpn: ['http/1.1'] } : undefined
  check.unknownKeys(obj, path, ['defaultCertificate', 'minVersion', 'alpn'])
  const alpn = (check.array(obj.alpn, [...path, 'alpn']) ?? ['http/1.1'])
    .map((p, i) => check.oneOf(p, [...path, 'alpn', i], ['http/1.1', 'http/1.0']))
    .filter((p): p is 'http/1.1' | 'http/1.0' => p !== undefined)
  return {
    defaultCertificate: check.string(obj.defaultCertificate, [...path, 'defaultCertificate']),
    minVersion: check.oneOf(obj.minVersion, [...path, 'minVersion'], ['TLSv1.2', 'TLSv1.3']) ?? 'TLSv1.2',
    alpn,
  }
}

function readServices(check: Checker, value: unknown, defaults: ServicePolicy): Map<string, ServiceConfig> {
  const out = new Map<string, ServiceConfig>()
  const obj = check.object(value, ['services'])
  if (!obj) return out
  for (const [name, raw] of Object.entries(obj)) {
    const path = ['services', name]
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
      check.report(path, `service name "${name}" must be lowercase letters, digits and '-' (at most 63)`)
    }
    const svc = check.object(raw, path, true)
    if (!svc) continue
    check.unknownKeys(svc, path, ['endpoints', 'consulName', 'tags', ...POLICY_KEYS])
    const endpoints = (check.array(svc.endpoints, [...path, 'endpoints']) ?? []).flatMap((ep, i) => {
      const parsed = readEndpoint(check, ep, [...path, 'endpoints', i])
      return parsed ? [parsed] : []
    })
    const tags = (check.array(svc.tags, [...path, 'tags']) ?? [])
      .map((t, i) => check.string(t, [...path, 'tags', i], true))
      .filter((t): t is string => t !== undefined)
    const policy = readServicePolicy(check, svc, path, defaults)
    out.set(name, { name, policy, endpoints, consulName: check.string(svc.consulName, [...path, 'consulName']), tags })
  }
  return out
}

function readEndpoint(check: Checker, value: unknown, path: FieldPath): ServiceConfig['endpoints'][number] | undefined {
  if (typeof value === 'string') return readEndpointAddress(check, value, path, 1)
  const obj = check.object(value, path, true)
  if (!obj) return undefined
  check.unknownKeys(obj, path, ['address', 'weight'])
  const address = check.string(obj.address, [...path, 'address'], true)
  const weight = check.integer(obj.weight, [...path, 'weight'], 0, 1000) ?? 1
  return address === undefined ? undefined : readEndpointAddress(check, address, [...path, 'address'], weight)
}

function readEndpointAddress(check: Checker, text: string, path: FieldPath, weight: number) {
  const hp = parseHostPort(text)
  if (!hp) {
    check.report(path, `"${text}" is not host:port (use 127.0.0.1:8080 or [::1]:8080)`)
    return undefined
  }
  return { ...hp, weight }
}

function readRulePaths(check: Checker, value: unknown, baseDir: string): string[] {
  const list = check.array(value, ['rules']) ?? []
  return list
    .map((p, i) => check.string(p, ['rules', i], true))
    .filter((p): p is string => p !== undefined)
    .map((p) => resolve(baseDir, p))
}

function readIngress(check: Checker, value: unknown): GatewayConfig['ingress'] {
  const obj = check.object(value, ['ingress']) ?? {}
  check.unknownKeys(obj, ['ingress'], ['className', 'defaultClass', 'maxFileBytes'])
  return {
    className: check.string(obj.className, ['ingress', 'className']) ?? 'portway',
    defaultClass: check.boolean(obj.defaultClass, ['ingress', 'defaultClass']) ?? true,
    maxFileBytes: check.integer(obj.maxFileBytes, ['ingress', 'maxFileBytes'], 1024, 1024 ** 3) ?? 16 * 1024 * 1024,
  }
}

function readLogging(check: Checker, value: unknown, baseDir: string): GatewayConfig['logging'] {
  const obj = check.object(value, ['logging']) ?? {}
  check.unknownKeys(obj, ['logging'], ['level', 'destination', 'asyncWrites', 'access'])
  const destination = check.string(obj.destination, ['logging', 'destination']) ?? 'stdout'
  return {
    level: check.oneOf(obj.level, ['logging', 'level'], ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) ?? 'info',
    destination: destination === 'stdout' || destination === 'stderr' ? destination : resolve(baseDir, destination),
    asyncWrites: check.boolean(obj.asyncWrites, ['logging', 'asyncWrites']) ?? true,
    access: check.boolean(obj.access, ['logging', 'access']) ?? true,
  }
}

function readTimeouts(check: Checker, value: unknown): TimeoutConfig {
  const obj = check.object(value, ['timeouts']) ?? {}
  const keys = Object.keys(DEFAULT_TIMEOUTS) as Array<keyof TimeoutConfig>
  check.unknownKeys(obj, ['timeouts'], keys)
  const out = { ...DEFAULT_TIMEOUTS }
  for (const key of keys) {
    out[key] = check.integer(obj[key], ['timeouts', key], 1, 3_600_000) ?? DEFAULT_TIMEOUTS[key]
  }
  return out
}

function readProxy(check: Checker, value: unknown): GatewayConfig['proxy'] {
  const obj = check.object(value, ['proxy']) ?? {}
  check.unknownKeys(obj, ['proxy'], ['engine', 'connectionsPerEndpoint', 'trustedProxies'])
  const trustedProxies = (check.array(obj.trustedProxies, ['proxy', 'trustedProxies']) ?? [])
    .map((c, i) => {
      const text = check.string(c, ['proxy', 'trustedProxies', i], true)
      if (text !== undefined && parseCidr(text) === undefined) {
        check.report(['proxy', 'trustedProxies', i], `"${text}" is not an address or CIDR block such as 10.0.0.0/8`)
        return undefined
      }
      return text
    })
    .filter((c): c is string => c !== undefined)
  return {
    trustedProxies,
    engine: check.oneOf(obj.engine, ['proxy', 'engine'], ['undici', 'http-proxy']) ?? 'undici',
    connectionsPerEndpoint: check.integer(obj.connectionsPerEndpoint, ['proxy', 'connectionsPerEndpoint'], 1, 100_000) ?? 256,
  }
}

function readConsul(check: Checker, value: unknown, baseDir: string): ConsulConfig | undefined {
  const obj = check.object(value, ['consul'])
  if (!obj) return undefined
  const path = ['consul']
  check.unknownKeys(obj, path, ['address', 'token', 'caFile', 'datacenter', 'healthStates', 'waitMs', 'matchPortNumber', 'churnBurst', 'churnRefillMs'])
  const states = (check.array(obj.healthStates, [...path, 'healthStates']) ?? ['passing'])
    .map((s, i) => check.oneOf(s, [...path, 'healthStates', i], ['passing', 'warning']))
    .filter((s): s is 'passing' | 'warning' => s !== undefined)
  const caFile = check.string(obj.caFile, [...path, 'caFile'])
  return {
    address: check.string(obj.address, [...path, 'address']),
    token: check.string(obj.token, [...path, 'token']),
    caFile: caFile === undefined ? undefined : resolve(baseDir, caFile),
    datacenter: check.string(obj.datacenter, [...path, 'datacenter']),
    healthStates: states,
    waitMs: check.integer(obj.waitMs, [...path, 'waitMs'], 1_000, 600_000),
    matchPortNumber: check.boolean(obj.matchPortNumber, [...path, 'matchPortNumber']) ?? false,
    // Five changes in a row apply at once; a service that keeps flapping is read every 3 s.
    churnBurst: check.integer(obj.churnBurst, [...path, 'churnBurst'], 1, 1_000) ?? 5,
    churnRefillMs: check.integer(obj.churnRefillMs, [...path, 'churnRefillMs'], 100, 600_000) ?? 3_000,
  }
}

function readCertificates(check: Checker, value: unknown, baseDir: string): CertificateConfig[] {
  const list = check.array(value, ['certificates']) ?? []
  const out: CertificateConfig[] = []
  list.forEach((item, i) => {
    const path = ['certificates', i]
    const obj = check.object(item, path, true)
    if (!obj) return
    check.unknownKeys(obj, path, ['name', 'certFile', 'keyFile', 'chainFile', 'hosts'])
    const name = check.string(obj.name, [...path, 'name'], true)
    const certFile = check.string(obj.certFile, [...path, 'certFile'], true)
    const keyFile = check.string(obj.keyFile, [...path, 'keyFile'], true)
    const chainFile = check.string(obj.chainFile, [...path, 'chainFile'])
    const hosts = (check.array(obj.hosts, [...path, 'hosts']) ?? [])
      .map((h, j) => check.string(h, [...path, 'hosts', j], true))
      .filter((h): h is string => h !== undefined)
    if (name === undefined || certFile === undefined || keyFile === undefined) return
    out.push({
      name,
      certFile: resolve(baseDir, certFile),
      keyFile: resolve(baseDir, keyFile),
      chainFile: chainFile === undefined ? undefined : resolve(baseDir, chainFile),
      hosts,
    })
  })
  return out
}

function readDemoUpstreams(check: Checker, value: unknown): DemoUpstreamConfig[] {
  const list = check.array(value, ['demoUpstreams']) ?? []
  const out: DemoUpstreamConfig[] = []
  list.forEach((item, i) => {
    const path = ['demoUpstreams', i]
    const obj = check.object(item, path, true)
    if (!obj) return
    check.unknownKeys(obj, path, ['name', 'address'])
    const name = check.string(obj.name, [...path, 'name'], true)
    const address = check.string(obj.address, [...path, 'address'], true)
    const hp = address === undefined ? undefined : parseHostPort(address)
    if (address !== undefined && !hp) check.report([...path, 'address'], `"${address}" is not host:port`)
    if (name !== undefined && hp) out.push({ name, ...hp })
  })
  return out
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

function readAdmin(check: Checker, value: unknown, baseDir: string): AdminConfig | undefined {
  if (value === false) return undefined
  const obj = check.object(value, ['admin']) ?? {}
  check.unknownKeys(obj, ['admin'], ['address', 'port', 'tls'])
  const address = readListenAddress(check, obj.address ?? '127.0.0.1', ['admin', 'address'])
  const port = check.integer(obj.port, ['admin', 'port'], 0, 65535) ?? 9901
  const tlsObj = check.object(obj.tls, ['admin', 'tls'])
  let tls: AdminConfig['tls']
  if (tlsObj) {
    check.unknownKeys(tlsObj, ['admin', 'tls'], ['certFile', 'keyFile', 'clientCaFile'])
    const certFile = check.string(tlsObj.certFile, ['admin', 'tls', 'certFile'], true)
    const keyFile = check.string(tlsObj.keyFile, ['admin', 'tls', 'keyFile'], true)
    const clientCaFile = check.string(tlsObj.clientCaFile, ['admin', 'tls', 'clientCaFile'], true)
    if (certFile !== undefined && keyFile !== undefined && clientCaFile !== undefined) {
      tls = { certFile: resolve(baseDir, certFile), keyFile: resolve(baseDir, keyFile), clientCaFile: resolve(baseDir, clientCaFile) }
    }
  }
  if (tls === undefined && !LOOPBACK.has(address)) {
    check.report(['admin', 'tls'], `is required when admin.address is ${address} (not loopback); create certificates with "portway certs ca" and "portway certs issue"`)
  }
  return { address, port, tls }
}

function readControl(check: Checker, value: unknown, baseDir: string): ControlConfig {
  const obj = check.object(value, ['control']) ?? {}
  check.unknownKeys(obj, ['control'], ['slbId', 'store', 'file', 'consulPrefix', 'quotas', 'listenAddress'])
  const quotas = check.object(obj.quotas, ['control', 'quotas']) ?? {}
  check.unknownKeys(quotas, ['control', 'quotas'], ['clustersPerAccount', 'workerNodesPerCluster'])
  const store = check.oneOf(obj.store, ['control', 'store'], ['file', 'consul']) ?? 'file'
  if (store === 'consul' && value !== undefined && (value as Record<string, unknown>).store === 'consul' && check.doc.value !== undefined) {
    const root = check.doc.value as Record<string, unknown>
    if (root.consul === undefined) check.report(['control', 'store'], 'is consul but no consul section is configured')
  }
  return {
    slbId: check.string(obj.slbId, ['control', 'slbId']),
    store,
    file: resolve(baseDir, check.string(obj.file, ['control', 'file']) ?? 'data/control.json'),
    consulPrefix: check.string(obj.consulPrefix, ['control', 'consulPrefix']) ?? 'portway/control',
    listenAddress: readListenAddress(check, obj.listenAddress, ['control', 'listenAddress']),
    quotas: {
      clustersPerAccount: check.integer(quotas.clustersPerAccount, ['control', 'quotas', 'clustersPerAccount'], 1, 100_000) ?? 5,
      workerNodesPerCluster: check.integer(quotas.workerNodesPerCluster, ['control', 'quotas', 'workerNodesPerCluster'], 1, 100_000) ?? 20,
    },
  }
}

function sortByLine(problems: Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i)
    .map((x) => x.p)
}

function checkReferences(check: Checker, config: GatewayConfig): void {
  const certNames = new Set(config.certificates.map((c) => c.name))
  config.listeners.forEach((l, i) => {
    const wanted = [l.service, ...l.routes.map((r) => r.service)].filter((s): s is string => s !== undefined)
    for (const svc of wanted) {
      if (!config.services.has(svc) && config.consul === undefined) {
        check.report(['listeners', i], `service "${svc}" is not defined under services and no consul is configured`)
      }
    }
    const certName = l.tls?.defaultCertificate
    if (certName !== undefined && !certNames.has(certName)) {
      check.report(['listeners', i, 'tls', 'defaultCertificate'], `no certificate named "${certName}" under certificates`)
    }
  })
}
