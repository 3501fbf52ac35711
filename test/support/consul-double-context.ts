import type { IncomingMessage } from 'node:http'
import type { Caller } from './consul-double-acl.js'
import type { QueryResult } from './consul-double-queries.js'
import type { CatalogStore } from './consul-double-store.js'
import type { Clock } from './consul-double-util.js'

/** What a route handler gets for one request. */
export interface RouteContext {
  req: IncomingMessage
  query: URLSearchParams
  /** Decoded captures of the route pattern. */
  params: string[]
  /** Datacenter the request targets (`?dc` or the local one). */
  dc: string
  localDc: string
  /** Node the agent endpoints act on. */
  agentNode: string
  caller: Caller
  store: CatalogStore
  clock: Clock
}

/** A handler's answer: JSON, a raw body, or a (possibly blocking) read. */
export type Reply =
  | { kind: 'json'; status?: number; body: unknown }
  | { kind: 'raw'; status?: number; body: string | Buffer; contentType: string }
  | { kind: 'read'; topics: string[]; run: () => QueryResult }

export function json(body: unknown, status = 200): Reply {
  return { kind: 'json', status, body }
}

export function empty(): Reply {
  return { kind: 'raw', body: '', contentType: 'text/plain; charset=utf-8' }
}
