import type { GatewayConfig, ListenerConfig } from './config/types.js'
import type { ServiceQuery } from './discovery/types.js'
import type { AccessList } from './ingress/annotations.js'
import type { BackendRef } from './ingress/model.js'
import type { AttemptFailure } from './proxy/exchange.js'
import type { PoolEndpoint, UpstreamPool } from './proxy/upstream-pool.js'
import { CidrSet, parseCidr, type CidrBlock } from './util/cidr.js'

/** Failures caused by the upstream; a client's bad request must not eject it. */
const UPSTREAM_FAULTS = new Set<string>([
  'GW_UPSTREAM_CONNECT_FAILED',
  'GW_UPSTREAM_CONNECT_TIMEOUT',
  'GW_UPSTREAM_RESET',
  'GW_UPSTREAM_TIMEOUT',
  'GW_UPSTREAM_BAD_RESPONSE',
])

/** Feeds passive health with the outcome of one attempt. */
export function recordOutcome(pool: UpstreamPool, endpoint: PoolEndpoint, failure: AttemptFailure | undefined, status?: number): void {
  if (failure !== undefined) {
    if (!UPSTREAM_FAULTS.has(failure.code)) return
    pool.recordOutcome(endpoint, { ok: false, kind: failure.phase === 'connect' ? 'connect-failure' : '5xx' })
    return
  }
  pool.recordOutcome(endpoint, status !== undefined && status >= 500 ? { ok: false, kind: '5xx' } : { ok: true, kind: 'ok' })
}

export function toCidrSet(list: readonly string[]): CidrSet {
  return new CidrSet(list.map((c) => parseCidr(c)).filter((c): c is CidrBlock => c !== undefined))
}

export function listenerAccess(listener: ListenerConfig): AccessList | undefined {
  if (listener.allowCidrs.length === 0 && listener.denyCidrs.length === 0) return undefined
  return {
    allow: listener.allowCidrs.length === 0 ? undefined : toCidrSet(listener.allowCidrs),
    deny: listener.denyCidrs.length === 0 ? undefined : toCidrSet(listener.denyCidrs),
  }
}

/**
 * Key of a discovered service pool: `name@consul`, plus `#portName` (a tag filter) or, when
 * `matchPortNumber` is on, `:port` (a filter on the instance port).
 */
export function consulServiceKey(backend: BackendRef, consulName: string | undefined, matchPortNumber: boolean): string {
  let key = `${consulName ?? backend.service}@consul`
  if (matchPortNumber && backend.portNumber !== undefined) key += `:${backend.portNumber}`
  else if (backend.portName !== undefined) key += `#${backend.portName}`
  return key
}

export function parseServiceKey(key: string, config: GatewayConfig): ServiceQuery {
  const match = /^([^@]+)(?:@consul)?(?::(\d+)|#(.+))?$/.exec(key)
  const name = match?.[1] ?? key
  const svc = config.services.get(name)
  const tags = [...(svc?.tags ?? [])]
  if (match?.[3] !== undefined) tags.push(match[3])
  return {
    key,
    name: svc?.consulName ?? name,
    tags,
    datacenter: config.consul?.datacenter,
    port: match?.[2] === undefined ? undefined : Number(match[2]),
  }
}
