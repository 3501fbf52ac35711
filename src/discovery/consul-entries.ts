import type { EndpointHealth, EndpointSpec } from './types.js'

/** The parts of one `GET /v1/health/service/:name` element the gateway reads. */
export interface HealthServiceEntry {
  Node: { Node: string; Address: string }
  Service: {
    ID: string
    Service: string
    Tags: string[] | null
    Address: string
    Port: number
    Meta: Record<string, string> | null
    Weights?: { Passing: number; Warning: number }
  }
  Checks: Array<{ CheckID: string; Status: string }> | null
}

export type HealthState = 'passing' | 'warning'

const RANK: Record<EndpointHealth, number> = { passing: 0, warning: 1, critical: 2 }

/** Worst status across every check of an entry, node checks included; unknown statuses count as critical. */
export function worstStatus(entry: HealthServiceEntry): EndpointHealth {
  let worst: EndpointHealth = 'passing'
  for (const check of entry.Checks ?? []) {
    const status: EndpointHealth =
      check.Status === 'passing' || check.Status === 'warning' ? check.Status : 'critical'
    if (RANK[status] > RANK[worst]) worst = status
  }
  return worst
}

function isEntry(value: unknown): value is HealthServiceEntry {
  if (value === null || typeof value !== 'object') return false
  const entry = value as Record<string, unknown>
  const node = entry.Node as Record<string, unknown> | null
  const svc = entry.Service as Record<string, unknown> | null
  return (
    typeof node?.Node === 'string' &&
    typeof node.Address === 'string' &&
    typeof svc?.ID === 'string' &&
    typeof svc.Port === 'number'
  )
}

/** Checks the shape of a health response body; throws on anything that is not an array of entries. */
export function parseHealthEntries(body: unknown): HealthServiceEntry[] {
  if (!Array.isArray(body)) throw new Error('Consul health response is not a JSON array')
  for (const item of body) {
    if (!isEntry(item)) throw new Error('Consul health response has an entry without Node or Service fields')
  }
  return body as HealthServiceEntry[]
}

/**
 * Converts entries into endpoints: only instances whose worst check is in `states` are kept,
 * the address falls back from Service.Address to Node.Address, and warning instances take
 * Weights.Warning. The result is sorted by id so two sets compare by content.
 */
export function toEndpoints(
  entries: readonly HealthServiceEntry[],
  states: ReadonlySet<HealthState>,
  port?: number,
): EndpointSpec[] {
  const out: EndpointSpec[] = []
  for (const entry of entries) {
    const health = worstStatus(entry)
    if (health === 'critical' || !states.has(health)) continue
    if (port !== undefined && entry.Service.Port !== port) continue
    const weights = entry.Service.Weights ?? { Passing: 1, Warning: 1 }
    const endpoint: EndpointSpec = {
      id: `${entry.Node.Node}/${entry.Service.ID}`,
      host: entry.Service.Address || entry.Node.Address,
      port: entry.Service.Port,
      weight: health === 'warning' ? weights.Warning : weights.Passing,
      health,
      source: 'consul',
      tags: [...(entry.Service.Tags ?? [])],
    }
    if (entry.Service.Meta) endpoint.meta = { ...entry.Service.Meta }
    out.push(endpoint)
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1))
}

/** Compares two id-sorted endpoint lists by content. */
export function sameEndpoints(a: readonly EndpointSpec[], b: readonly EndpointSpec[]): boolean {
  if (a.length !== b.length) return false
  return a.every((endpoint, i) => JSON.stringify(endpoint) === JSON.stringify(b[i]))
}
