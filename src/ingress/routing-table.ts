import { LRUCache } from 'lru-cache'
import { isCanary, readCanary, readRouteSettings, type CanarySplit, type RouteSettings } from './annotations.js'
import type { BackendRef, IngressSpec, PathType, RuleSpec } from './model.js'

/** A rule that survived compilation, bound to the upstream service key it forwards to. */
export interface CompiledRoute {
  /** Rule id, `namespace/name#rule.path`, or `namespace/name#default` for a default backend. */
  name: string
  ingress: string
  file: string
  line?: number
  host?: string
  path: string
  pathType: PathType | 'Default'
  backend: BackendRef
  /** Key of the upstream service pool this route forwards to. */
  service: string
  annotations: Readonly<Record<string, string>>
  /** True when an Ingress `spec.tls` entry covers this route's host. */
  tls: boolean
  /** Plain HTTP requests get a 308 to HTTPS. */
  redirectToHttps: boolean
  /** Value of the Strict-Transport-Security header added to HTTPS responses. */
  hsts?: string
  settings: RouteSettings
  /** Traffic split to a canary service, from a canary Ingress with the same host and path. */
  canary?: CanarySplit
}

export interface RejectedRule {
  rule: string
  file: string
  line?: number
  reason: string
}

/** Resolves a backend to a service key, or returns a reason why it cannot be served. */
export type BackendResolver = (backend: BackendRef) => { service: string } | { error: string }

interface PrefixNode {
  route?: CompiledRoute
  children?: Map<string, PrefixNode>
}

/** The routes of one host group: exact paths in a map, prefixes in a trie of path elements. */
class HostRoutes {
  readonly exact = new Map<string, CompiledRoute>()
  readonly prefixRoot: PrefixNode = {}
  size = 0

  match(path: string): CompiledRoute | undefined {
    const exact = this.exact.get(path)
    // An exact hit is never shorter than an element prefix of the same path, and on a tie
    // Exact wins, so it can return at once.
    if (exact !== undefined) return exact
    let node: PrefixNode = this.prefixRoot
    let best = node.route
    let start = 1
    const end = path.length
    while (start < end && node.children !== undefined) {
      let slash = path.indexOf('/', start)
      if (slash === -1) slash = end
      const child = node.children.get(path.slice(start, slash))
      if (child === undefined) break
      node = child
      if (child.route !== undefined) best = child.route
      start = slash + 1
    }
    return best
  }
}

export interface RouteMatch {
  route: CompiledRoute
  /** Host group that matched: `exact`, `wildcard`, `any` (host-less rules) or `default`. */
  hostMatch: 'exact' | 'wildcard' | 'any' | 'default'
}

/**
 * A compiled, read-only routing table. Lookups index by host (exact map, then one-label
 * wildcard map, then host-less rules) and walk a trie of path elements; they never scan rules.
 */
export class RoutingTable {
  readonly routes: readonly CompiledRoute[]
  readonly rejected: readonly RejectedRule[]
  readonly #exactHosts = new Map<string, HostRoutes>()
  readonly #wildcardHosts = new Map<string, HostRoutes>()
  #anyHost: HostRoutes | undefined
  #defaultRoute: CompiledRoute | undefined
  readonly #hostCache = new LRUCache<string, { group: HostRoutes | undefined; kind: RouteMatch['hostMatch'] }>({ max: 4096 })

  constructor(routes: CompiledRoute[], rejected: RejectedRule[], defaultRoute: CompiledRoute | undefined) {
    this.routes = routes
    this.rejected = rejected
    this.#defaultRoute = defaultRoute
    for (const route of routes) this.#insert(route)
  }

  get size(): number {
    return this.routes.length
  }

  /** The route of the first loaded `defaultBackend`, if any. */
  get defaultRoute(): CompiledRoute | undefined {
    return this.#defaultRoute
  }

  /** Returns every service key a route of this table can forward to, canaries and default included. */
  serviceKeys(): Set<string> {
    const keys = new Set<string>()
    for (const route of this.#defaultRoute === undefined ? this.routes : [...this.routes, this.#defaultRoute]) {
      keys.add(route.service)
      if (route.canary !== undefined) keys.add(route.canary.service)
    }
    return keys
  }

  /** Finds the route for a raw Host header value and a path without its query string. */
  match(rawHost: string, path: string): RouteMatch | undefined {
    let entry = this.#hostCache.get(rawHost)
    if (entry === undefined) {
      entry = this.#resolveHost(normalizeHost(rawHost))
      this.#hostCache.set(rawHost, entry)
    }
    const route = entry.group?.match(path)
    if (route !== undefined) return { route, hostMatch: entry.kind }
    // A host that selected its own rules does not fall through to host-less rules.
    if (this.#defaultRoute !== undefined) return { route: this.#defaultRoute, hostMatch: 'default' }
    return undefined
  }

  #resolveHost(host: string): { group: HostRoutes | undefined; kind: RouteMatch['hostMatch'] } {
    const exact = this.#exactHosts.get(host)
    if (exact !== undefined) return { group: exact, kind: 'exact' }
    const dot = host.indexOf('.')
    if (dot > 0) {
      const wildcard = this.#wildcardHosts.get(host.slice(dot + 1))
      if (wildcard !== undefined) return { group: wildcard, kind: 'wildcard' }
    }
    return { group: this.#anyHost, kind: 'any' }
  }

  #insert(route: CompiledRoute): void {
    let group: HostRoutes
    if (route.host === undefined) {
      group = this.#anyHost ??= new HostRoutes()
    } else if (route.host.startsWith('*.')) {
      group = getOrCreate(this.#wildcardHosts, route.host.slice(2))
    } else {
      group = getOrCreate(this.#exactHosts, route.host)
    }
    group.size++
    if (route.pathType === 'Exact') {
      group.exact.set(route.path, route)
      return
    }
    let node = group.prefixRoot
    for (const element of pathElements(route.path)) {
      node.children ??= new Map()
      let child = node.children.get(element)
      if (child === undefined) {
        child = {}
        node.children.set(element, child)
      }
      node = child
    }
    node.route = route
  }
}

function getOrCreate(map: Map<string, HostRoutes>, key: string): HostRoutes {
  let group = map.get(key)
  if (group === undefined) {
    group = new HostRoutes()
    map.set(key, group)
  }
  return group
}

/** Splits a path into elements, ignoring the leading slash and one trailing slash. */
export function pathElements(path: string): string[] {
  const trimmed = path.endsWith('/') ? path.slice(1, -1) : path.slice(1)
  return trimmed === '' ? [] : trimmed.split('/')
}

/**
 * Normalises a Host header for matching: drops the port, lower-cases it and removes one
 * trailing dot. IPv6 literals keep their brackets.
 */
export function normalizeHost(raw: string): string {
  let host = raw
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    host = end === -1 ? host : host.slice(0, end + 1)
  } else {
    const colon = host.indexOf(':')
    if (colon !== -1) host = host.slice(0, colon)
  }
  host = host.toLowerCase()
  if (host.endsWith('.')) host = host.slice(0, -1)
  return host
}

export interface CompileResult {
  table: RoutingTable
  /** Rules that were dropped as exact duplicates of an earlier rule. */
  duplicates: RejectedRule[]
}

/**
 * Compiles validated Ingresses, in load order, into a routing table. A rule whose backend
 * cannot be resolved is rejected on its own; the other rules still compile.
 */
export function compileRoutes(ingresses: readonly IngressSpec[], resolve: BackendResolver): CompileResult {
  const routes: CompiledRoute[] = []
  const rejected: RejectedRule[] = []
  const duplicates: RejectedRule[] = []
  const seen = new Map<string, CompiledRoute>()
  let defaultRoute: CompiledRoute | undefined
  const canaries = ingresses.filter((i) => isCanary(i.annotations))
  for (const ingress of ingresses) {
    if (isCanary(ingress.annotations)) continue
    const settings = readRouteSettings(ingress.annotations)
    for (const rule of ingress.rules) {
      const key = ruleKey(rule)
      const first = seen.get(key)
      if (first !== undefined) {
        duplicates.push({ rule: rule.id, file: rule.file, line: rule.line, reason: `same host, path and type as ${first.name} (${first.file}), which wins` })
        continue
      }
      if (typeof settings === 'string') {
        rejected.push({ rule: rule.id, file: rule.file, line: ingress.line, reason: settings })
        continue
      }
      const route = bindRule(rule, ingress, settings, resolve, rejected)
      if (route === undefined) continue
      seen.set(key, route)
      routes.push(route)
    }
    if (ingress.defaultBackend !== undefined && typeof settings !== 'string') {
      if (defaultRoute !== undefined) {
        duplicates.push({ rule: `${ingress.name}#default`, file: ingress.file, line: ingress.line, reason: `defaultBackend of ${defaultRoute.ingress} was loaded first and wins` })
        continue
      }
      defaultRoute = bindDefault(ingress, ingress.defaultBackend, settings, resolve, rejected)
    }
  }
  for (const ingress of canaries) attachCanary(ingress, seen, resolve, rejected)
  return { table: new RoutingTable(routes, rejected, defaultRoute), duplicates }
}

function ruleKey(rule: RuleSpec): string {
  return `${rule.host ?? ''}\n${rule.pathType === 'Exact' ? 'E' : 'P'}\n${canonicalPath(rule)}`
}

/** Attaches each rule of a canary Ingress to the main route with the same host, path and type. */
function attachCanary(ingress: IngressSpec, routes: ReadonlyMap<string, CompiledRoute>, resolve: BackendResolver, rejected: RejectedRule[]): void {
  const split = readCanary(ingress.annotations)
  for (const rule of ingress.rules) {
    if (typeof split === 'string') {
      rejected.push({ rule: rule.id, file: rule.file, line: ingress.line, reason: split })
      continue
    }
    const main = routes.get(ruleKey(rule))
    if (main === undefined) {
      rejected.push({ rule: rule.id, file: rule.file, line: rule.line, reason: 'canary rule has no main rule with the same host, path and pathType' })
      continue
    }
    const target = resolve(rule.backend)
    if ('error' in target) {
      rejected.push({ rule: rule.id, file: rule.file, line: rule.line, reason: target.error })
      continue
    }
    main.canary = { ...split, service: target.service }
  }
}

function canonicalPath(rule: RuleSpec): string {
  if (rule.pathType === 'Exact') return rule.path
  return '/' + pathElements(rule.path).join('/')
}

function bindRule(rule: RuleSpec, ingress: IngressSpec, settings: RouteSettings, resolve: BackendResolver, rejected: RejectedRule[]): CompiledRoute | undefined {
  const target = resolve(rule.backend)
  if ('error' in target) {
    rejected.push({ rule: rule.id, file: rule.file, line: rule.line, reason: target.error })
    return undefined
  }
  return {
    name: rule.id,
    ingress: rule.ingress,
    file: rule.file,
    line: rule.line,
    host: rule.host,
    path: rule.path,
    pathType: rule.pathType,
    backend: rule.backend,
    service: target.service,
    annotations: ingress.annotations,
    settings,
    ...tlsSettings(ingress, rule.host),
  }
}

/** Annotations that turn the redirect off; ingress-nginx's name is honoured too. */
const SSL_REDIRECT_ANNOTATIONS = ['portway.io/ssl-redirect', 'nginx.ingress.kubernetes.io/ssl-redirect']
const HSTS_ANNOTATION = 'portway.io/hsts'

function tlsSettings(ingress: IngressSpec, host: string | undefined): Pick<CompiledRoute, 'tls' | 'redirectToHttps' | 'hsts'> {
  const tls = host !== undefined && ingress.tls.some((entry) => entry.hosts.some((h) => tlsHostCovers(h, host)))
  const redirectSetting = SSL_REDIRECT_ANNOTATIONS.map((a) => ingress.annotations[a]).find((v) => v !== undefined)
  const hsts = ingress.annotations[HSTS_ANNOTATION]
  return { tls, redirectToHttps: tls && redirectSetting !== 'false', hsts: tls ? hsts : undefined }
}

function tlsHostCovers(tlsHost: string, ruleHost: string): boolean {
  if (tlsHost === ruleHost) return true
  if (!tlsHost.startsWith('*.')) return false
  const dot = ruleHost.indexOf('.')
  return dot > 0 && !ruleHost.startsWith('*.') && ruleHost.slice(dot + 1) === tlsHost.slice(2)
}

function bindDefault(ingress: IngressSpec, backend: BackendRef, settings: RouteSettings, resolve: BackendResolver, rejected: RejectedRule[]): CompiledRoute | undefined {
  const target = resolve(backend)
  if ('error' in target) {
    rejected.push({ rule: `${ingress.name}#default`, file: ingress.file, line: ingress.line, reason: target.error })
    return undefined
  }
  return {
    name: `${ingress.name}#default`,
    ingress: ingress.name,
    file: ingress.file,
    line: ingress.line,
    path: '/',
    pathType: 'Default',
    backend,
    service: target.service,
    annotations: ingress.annotations,
    settings,
    tls: false,
    redirectToHttps: false,
  }
}
