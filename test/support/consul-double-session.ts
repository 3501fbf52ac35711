import { randomUUID } from 'node:crypto'
import { requireAccess } from './consul-double-acl.js'
import { json, type Reply, type RouteContext } from './consul-double-context.js'
import type { KvStore } from './consul-double-kv.js'
import type { CatalogStore, CheckRecord } from './consul-double-store.js'
import {
  durationField,
  field,
  HttpError,
  parseGoDuration,
  readJson,
  stringField,
  stringListField,
  type Clock,
} from './consul-double-util.js'

export const SESSION_TOPIC = 'sessions'
const MIN_TTL_MS = 10_000
const MAX_TTL_MS = 86_400_000
const DEFAULT_LOCK_DELAY_MS = 15_000
const MAX_LOCK_DELAY_MS = 60_000

export interface SessionRecord {
  id: string
  name: string
  node: string
  lockDelayMs: number
  behavior: 'release' | 'delete'
  ttl: string
  ttlMs: number
  nodeChecks: string[]
  serviceChecks: Array<{ ID: string }>
  /** Clock time after which the session is invalidated; none without a TTL. */
  expiresAt?: number
  createIndex: number
  modifyIndex: number
}

function formatGoDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h0m0s`
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m0s`
  return `${ms / 1000}s`
}

/**
 * Sessions with TTLs on the injectable clock. Like Consul, a TTL session is invalidated only after
 * `ttlMultiplier` times its TTL without a renewal (Consul uses 2).
 */
export class SessionStore {
  readonly sessions = new Map<string, SessionRecord>()

  constructor(
    readonly store: CatalogStore,
    readonly clock: Clock,
    readonly ttlMultiplier: number,
    private readonly kv: () => KvStore,
  ) {
    store.onCheckCritical((dc, check) => this.#onCheckCritical(dc, check))
  }

  json(session: SessionRecord): Record<string, unknown> {
    return {
      ID: session.id,
      Name: session.name,
      Node: session.node,
      LockDelay: session.lockDelayMs * 1e6,
      Behavior: session.behavior,
      TTL: session.ttl,
      NodeChecks: [...session.nodeChecks],
      ServiceChecks: session.serviceChecks.map((check) => ({ ...check })),
      CreateIndex: session.createIndex,
      ModifyIndex: session.modifyIndex,
    }
  }

  #armTtl(session: SessionRecord): void {
    if (session.ttlMs > 0) session.expiresAt = this.clock.now() + session.ttlMs * this.ttlMultiplier
  }

  /** Invalidates a session: its locks are released or their keys deleted, then lock-delay starts. */
  invalidate(id: string): boolean {
    const session = this.sessions.get(id)
    if (!session) return false
    this.sessions.delete(id)
    this.kv().invalidateSession(id, session.behavior, session.lockDelayMs, this.clock.now())
    this.store.commit([SESSION_TOPIC])
    return true
  }

  /** Invalidates every session whose TTL has run out on the clock. */
  sweep(): void {
    const now = this.clock.now()
    for (const session of [...this.sessions.values()]) {
      if (session.expiresAt !== undefined && session.expiresAt <= now) this.invalidate(session.id)
    }
  }

  /** Raises the TTL the server hands back on the next renewal, as a busy Consul may. */
  setTtl(id: string, ttl: string): void {
    const session = this.sessions.get(id)
    const ms = parseGoDuration(ttl)
    if (!session || ms === undefined) throw new Error(`unknown session ${id} or invalid TTL ${ttl}`)
    session.ttl = ttl
    session.ttlMs = ms
  }

  #onCheckCritical(dc: string, check: CheckRecord): void {
    if (dc !== this.store.datacenters[0]) return
    for (const session of [...this.sessions.values()]) {
      if (session.node !== check.node) continue
      const linked =
        session.nodeChecks.includes(check.checkId) || session.serviceChecks.some((c) => c.ID === check.checkId)
      if (linked) this.invalidate(session.id)
    }
  }

  create(ctx: RouteContext, raw: unknown): SessionRecord {
    const node = stringField(raw, 'Node') || ctx.agentNode
    requireAccess(ctx.caller, 'session', node, 'write')
    if (!ctx.store.node(ctx.localDc, node)) throw new HttpError(500, `Missing node registration for "${node}"`)
    const behavior = stringField(raw, 'Behavior') || 'release'
    if (behavior !== 'release' && behavior !== 'delete') {
      throw new HttpError(400, `Invalid Behavior setting "${behavior}"`)
    }
    const ttl = stringField(raw, 'TTL')
    const ttlMs = ttl === '' ? 0 : parseGoDuration(ttl)
    if (ttlMs === undefined || (ttlMs !== 0 && (ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS))) {
      throw new HttpError(400, `Invalid Session TTL "${ttl}": must be between 10s and 24h0m0s`)
    }
    const session: SessionRecord = {
      id: randomUUID(),
      name: stringField(raw, 'Name'),
      node,
      lockDelayMs: decodeLockDelay(raw),
      behavior,
      ttl: ttlMs === 0 ? '' : formatGoDuration(ttlMs),
      ttlMs,
      nodeChecks: decodeNodeChecks(raw),
      serviceChecks: decodeServiceChecks(raw),
      createIndex: 0,
      modifyIndex: 0,
    }
    for (const checkId of [...session.nodeChecks, ...session.serviceChecks.map((c) => c.ID)]) {
      const check = ctx.store.check(ctx.localDc, node, checkId)
      if (!check) throw new HttpError(500, `Missing check '${checkId}' registration`)
      if (check.status === 'critical') throw new HttpError(500, `Check '${checkId}' is in critical state`)
    }
    const index = this.store.commit([SESSION_TOPIC])
    session.createIndex = index
    session.modifyIndex = index
    this.#armTtl(session)
    this.sessions.set(session.id, session)
    return session
  }

  renew(ctx: RouteContext, id: string): SessionRecord {
    const session = this.sessions.get(id)
    if (!session) throw new HttpError(404, `Session id '${id}' not found`)
    requireAccess(ctx.caller, 'session', session.node, 'write')
    this.#armTtl(session)
    return session
  }
}

/** LockDelay is a duration string or nanoseconds; Consul reads numbers below 1000 as seconds. */
function decodeLockDelay(raw: unknown): number {
  const value = field(raw, 'LockDelay')
  let ms: number
  if (typeof value === 'number' && value < 1000) ms = value * 1000
  else ms = durationField(raw, 'LockDelay') ?? DEFAULT_LOCK_DELAY_MS
  if (ms < 0 || ms > MAX_LOCK_DELAY_MS) throw new HttpError(400, 'Invalid LockDelay: must be between 0s and 60s')
  return ms
}

function decodeNodeChecks(raw: unknown): string[] {
  if (field(raw, 'NodeChecks') !== undefined) return stringListField(raw, 'NodeChecks')
  if (field(raw, 'Checks') !== undefined) return stringListField(raw, 'Checks')
  return field(raw, 'ServiceChecks') === undefined ? ['serfHealth'] : []
}

function decodeServiceChecks(raw: unknown): Array<{ ID: string }> {
  const value = field(raw, 'ServiceChecks')
  if (!Array.isArray(value)) return []
  return value.map((item) => ({ ID: stringField(item, 'ID') }))
}

export function sessionRoutes(sessions: SessionStore) {
  const infoRead = (ctx: RouteContext, ids: () => string[]): Reply => {
    requireAccess(ctx.caller, 'session', '', 'read')
    return {
      kind: 'read',
      topics: [SESSION_TOPIC],
      run: () => ({
        index: sessions.store.topicIndex(SESSION_TOPIC),
        body: ids()
          .map((id) => sessions.sessions.get(id))
          .filter((s): s is SessionRecord => !!s)
          .map((s) => sessions.json(s)),
      }),
    }
  }
  return [
    {
      name: 'session.create',
      method: 'PUT',
      pattern: /^\/v1\/session\/create$/,
      handle: async (ctx: RouteContext) => json({ ID: sessions.create(ctx, await readJson(ctx.req)).id }),
    },
    {
      name: 'session.renew',
      method: 'PUT',
      pattern: /^\/v1\/session\/renew\/(.+)$/,
      handle: async (ctx: RouteContext) => json([sessions.json(sessions.renew(ctx, ctx.params[0] ?? ''))]),
    },
    {
      name: 'session.destroy',
      method: 'PUT',
      pattern: /^\/v1\/session\/destroy\/(.+)$/,
      handle: async (ctx: RouteContext) => {
        const session = sessions.sessions.get(ctx.params[0] ?? '')
        if (session) requireAccess(ctx.caller, 'session', session.node, 'write')
        sessions.invalidate(ctx.params[0] ?? '')
        return json(true)
      },
    },
    {
      name: 'session.info',
      method: 'GET',
      pattern: /^\/v1\/session\/info\/(.+)$/,
      handle: async (ctx: RouteContext) => infoRead(ctx, () => [ctx.params[0] ?? '']),
    },
    {
      name: 'session.list',
      method: 'GET',
      pattern: /^\/v1\/session\/list$/,
      handle: async (ctx: RouteContext) => infoRead(ctx, () => [...sessions.sessions.keys()]),
    },
  ]
}
