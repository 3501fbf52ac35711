import {
  normalizeHost,
  pathElements,
  type CompiledRoute,
  type RouteMatch,
  type RoutingTable,
} from '../ingress/routing-table.js'

/** A compiled route as the admin API shows it. */
export interface RouteView {
  name: string
  ingress: string
  file: string
  line?: number
  host?: string
  path: string
  pathType: CompiledRoute['pathType']
  service: string
  backend: CompiledRoute['backend']
  annotations: Readonly<Record<string, string>>
}

/** The host group the table searches for a host, in the table's own order. */
export interface HostGroup {
  /** `exact` and `wildcard` name the matching host; `any` is the group of host-less rules. */
  kind: 'exact' | 'wildcard' | 'any'
  /** The rule host that selected the group, such as `*.example.test`. Absent for `any`. */
  host?: string
  rules: number
}

export interface CandidateRule {
  rule: string
  pathType: CompiledRoute['pathType']
  path: string
  /** Whether this rule's path covers the request path on its own. */
  pathMatches: boolean
}

/** The rule a host and path select, and the reason. */
export interface RouteExplanation {
  host: string
  normalizedHost: string
  path: string
  matched: boolean
  hostMatch?: RouteMatch['hostMatch']
  route?: RouteView
  hostGroup: HostGroup
  /** Rules of the selected host group, in load order. */
  candidates: CandidateRule[]
  reason: string
}

export function describeRoute(route: CompiledRoute): RouteView {
  const view: RouteView = {
    name: route.name,
    ingress: route.ingress,
    file: route.file,
    path: route.path,
    pathType: route.pathType,
    service: route.service,
    backend: route.backend,
    annotations: route.annotations,
  }
  if (route.line !== undefined) view.line = route.line
  if (route.host !== undefined) view.host = route.host
  return view
}

/**
 * Explains how `table` routes a request for `rawHost` and `path`. The match itself comes from
 * `table.match`, so the result is what the data plane does. The host group and candidates are
 * recomputed from the route list to give the reason.
 */
export function explainRoute(
  table: RoutingTable,
  rawHost: string,
  rawPath: string,
): RouteExplanation {
  const q = rawPath.indexOf('?')
  const path = q === -1 ? rawPath : rawPath.slice(0, q)
  const normalizedHost = normalizeHost(rawHost)
  const { group, routes } = selectHostGroup(table.routes, normalizedHost)
  const candidates = routes.map((r) => ({
    rule: r.name,
    pathType: r.pathType,
    path: r.path,
    pathMatches: pathMatches(r, path),
  }))
  const match = table.match(rawHost, path)
  const explanation: RouteExplanation = {
    host: rawHost,
    normalizedHost,
    path,
    matched: match !== undefined,
    hostGroup: group,
    candidates,
    reason: '',
  }
  if (match === undefined) {
    explanation.reason = explainMiss(table, group, normalizedHost, path)
    return explanation
  }

  explanation.hostMatch = match.hostMatch
  explanation.route = describeRoute(match.route)
  explanation.reason = explainHit(match, group, normalizedHost, path)
  return explanation
}

function selectHostGroup(
  routes: readonly CompiledRoute[],
  host: string,
): { group: HostGroup; routes: CompiledRoute[] } {
  const exact = routes.filter((r) => r.host === host)
  if (exact.length > 0) {
    return { group: { kind: 'exact', host, rules: exact.length }, routes: exact }
  }

  const dot = host.indexOf('.')
  if (dot > 0) {
    const wildcardHost = `*.${host.slice(dot + 1)}`
    const wildcard = routes.filter((r) => r.host === wildcardHost)
    if (wildcard.length > 0) {
      const group: HostGroup = { kind: 'wildcard', host: wildcardHost, rules: wildcard.length }
      return { group, routes: wildcard }
    }
  }
  const any = routes.filter((r) => r.host === undefined)
  return { group: { kind: 'any', rules: any.length }, routes: any }
}

function pathMatches(route: CompiledRoute, path: string): boolean {
  if (route.pathType === 'Exact') return route.path === path
  const prefix = pathElements(route.path)
  const elements = pathElements(path)
  if (prefix.length > elements.length) return false
  return prefix.every((element, i) => elements[i] === element)
}

function describeGroup(group: HostGroup, host: string): string {
  if (group.kind === 'exact') return `the ${group.rules} rule(s) for host ${host}`
  if (group.kind === 'wildcard') return `the ${group.rules} rule(s) for wildcard host ${group.host}`
  return `the ${group.rules} host-less rule(s)`
}

function explainHit(match: RouteMatch, group: HostGroup, host: string, path: string): string {
  const route = match.route
  if (match.hostMatch === 'default') {
    return (
      `none of ${describeGroup(group, host)} matches path ${path}, ` +
      `so the default backend of ${route.ingress} applies`
    )
  }
  const pathReason =
    route.pathType === 'Exact'
      ? `Exact path ${route.path} equals the request path`
      : `${route.pathType} path ${route.path} is the longest prefix of ${path} by path element`
  return `host ${host} selected ${describeGroup(group, host)}; ${pathReason}`
}

function explainMiss(table: RoutingTable, group: HostGroup, host: string, path: string): string {
  if (group.rules === 0) {
    return (
      `no rule names host ${host}, no wildcard rule covers it, no host-less rule exists, ` +
      'and no Ingress sets a default backend'
    )
  }
  let reason =
    `none of ${describeGroup(group, host)} matches path ${path}, ` +
    'and no Ingress sets a default backend'
  const hasHostless = table.routes.some((r) => r.host === undefined)
  if (group.kind !== 'any' && hasHostless) {
    reason += '; a host with rules of its own does not fall back to host-less rules'
  }
  return reason
}
