import { requireAccess } from './consul-double-acl.js'
import { json, type Reply, type RouteContext } from './consul-double-context.js'
import type { QueryResult } from './consul-double-queries.js'
import type { CatalogStore } from './consul-double-store.js'
import { HttpError, readBody, readQueryBool, readQueryUint } from './consul-double-util.js'

/** Consul's default `kv_max_value_size`. */
export const KV_MAX_VALUE_BYTES = 512 * 1024
export const KV_TOPIC = 'kv'

export interface KvEntry {
  key: string
  value: Buffer | null
  flags: number
  session?: string
  lockIndex: number
  createIndex: number
  modifyIndex: number
}

/** The key/value store with advisory locks held by sessions. */
export class KvStore {
  readonly entries = new Map<string, KvEntry>()
  /** Keys that may not be acquired before the given clock time (lock-delay). */
  readonly lockDelayUntil = new Map<string, number>()

  constructor(
    readonly store: CatalogStore,
    readonly sessionExists: (id: string) => boolean,
  ) {}

  entryJson(entry: KvEntry): Record<string, unknown> {
    const out: Record<string, unknown> = {
      LockIndex: entry.lockIndex,
      Key: entry.key,
      Flags: entry.flags,
      Value: entry.value === null ? null : entry.value.toString('base64'),
      CreateIndex: entry.createIndex,
      ModifyIndex: entry.modifyIndex,
    }
    if (entry.session !== undefined) out.Session = entry.session
    return out
  }

  subtree(prefix: string): KvEntry[] {
    return [...this.entries.values()]
      .filter((entry) => entry.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /** Index of a read: the entry's, the subtree's highest (which drops when it is deleted), or the table's. */
  readIndex(entries: readonly KvEntry[]): number {
    if (entries.length === 0) return this.store.topicIndex(KV_TOPIC)
    return Math.max(...entries.map((entry) => entry.modifyIndex))
  }

  write(key: string, value: Buffer | null, flags: number, lock?: { session?: string; lockIndex: number }): void {
    const existing = this.entries.get(key)
    const index = this.store.commit([KV_TOPIC])
    const entry: KvEntry = {
      key,
      value,
      flags,
      lockIndex: lock?.lockIndex ?? existing?.lockIndex ?? 0,
      createIndex: existing?.createIndex ?? index,
      modifyIndex: index,
    }
    const session = lock ? lock.session : existing?.session
    if (session !== undefined) entry.session = session
    this.entries.set(key, entry)
  }

  delete(keys: readonly string[]): void {
    if (keys.length === 0) return
    for (const key of keys) this.entries.delete(key)
    this.store.commit([KV_TOPIC])
  }

  /** Applies a session's invalidation to the keys it holds, then starts their lock-delay. */
  invalidateSession(id: string, behavior: 'release' | 'delete', lockDelayMs: number, now: number): void {
    const held = [...this.entries.values()].filter((entry) => entry.session === id)
    for (const entry of held) {
      if (lockDelayMs > 0) this.lockDelayUntil.set(entry.key, now + lockDelayMs)
    }
    if (behavior === 'delete') {
      this.delete(held.map((entry) => entry.key))
      return
    }
    for (const entry of held) this.write(entry.key, entry.value, entry.flags, { lockIndex: entry.lockIndex })
  }

  lowerIndex(index: number): void {
    for (const entry of this.entries.values()) {
      entry.createIndex = Math.min(entry.createIndex, index)
      entry.modifyIndex = Math.min(entry.modifyIndex, index)
    }
  }
}

function keysOnly(entries: readonly KvEntry[], prefix: string, separator: string | null): string[] {
  const out = new Set<string>()
  for (const entry of entries) {
    const rest = entry.key.slice(prefix.length)
    const cut = separator ? rest.indexOf(separator) : -1
    out.add(cut >= 0 ? prefix + rest.slice(0, cut + (separator?.length ?? 0)) : entry.key)
  }
  return [...out].sort()
}

function notFound(index: number): QueryResult {
  return { index, body: '', status: 404, contentType: 'text/plain; charset=utf-8' }
}

function readKv(kv: KvStore, ctx: RouteContext): Reply {
  const key = ctx.params[0] ?? ''
  const keysMode = ctx.query.has('keys')
  const recurse = keysMode || readQueryBool(ctx.query, 'recurse')
  const raw = ctx.query.has('raw')
  const separator = ctx.query.get('separator')
  if (key === '' && !recurse) throw new HttpError(400, 'Missing key name')
  requireAccess(ctx.caller, 'key', key, 'read')

  const run = (): QueryResult => {
    const entries = recurse ? kv.subtree(key) : [kv.entries.get(key)].filter((e): e is KvEntry => !!e)
    const index = kv.readIndex(entries)
    if (entries.length === 0) return notFound(index)
    if (keysMode) return { index, body: keysOnly(entries, key, separator || null) }
    if (raw && !recurse) {
      return { index, body: entries[0]!.value ?? Buffer.alloc(0), contentType: 'text/plain; charset=utf-8' }
    }
    return { index, body: entries.map((entry) => kv.entryJson(entry)) }
  }
  return { kind: 'read', topics: [KV_TOPIC], run }
}

function parseFlags(query: URLSearchParams): number | undefined {
  const flags = readQueryUint(query, 'flags', 'flags')
  return flags === undefined ? undefined : Number(flags)
}

async function writeKv(kv: KvStore, ctx: RouteContext): Promise<Reply> {
  const key = ctx.params[0] ?? ''
  if (key === '') throw new HttpError(400, 'Missing key name')
  requireAccess(ctx.caller, 'key', key, 'write')
  const acquire = ctx.query.get('acquire')
  const release = ctx.query.get('release')
  if (acquire !== null && release !== null) throw new HttpError(400, 'Conflicting flags: acquire and release')
  const cas = readQueryUint(ctx.query, 'cas', 'cas index')
  const flagsParam = parseFlags(ctx.query)
  const body = await readBody(ctx.req, KV_MAX_VALUE_BYTES)
  const value = body.length === 0 ? null : body

  const existing = kv.entries.get(key)
  if (cas !== undefined) {
    if (cas === 0n && existing) return json(false)
    if (cas !== 0n && (!existing || BigInt(existing.modifyIndex) !== cas)) return json(false)
  }
  const flags = flagsParam ?? existing?.flags ?? 0

  if (acquire !== null) return json(acquireLock(kv, ctx, key, value, flags, acquire))
  if (release !== null) {
    if (!kv.sessionExists(release) || existing?.session !== release) return json(false)
    kv.write(key, value, flags, { lockIndex: existing.lockIndex })
    return json(true)
  }
  kv.write(key, value, flags)
  return json(true)
}

function acquireLock(kv: KvStore, ctx: RouteContext, key: string, value: Buffer | null, flags: number, session: string): boolean {
  if (!kv.sessionExists(session)) throw new HttpError(500, `invalid session "${session}"`)
  const existing = kv.entries.get(key)
  if (existing?.session === session) {
    kv.write(key, value, flags, { session, lockIndex: existing.lockIndex })
    return true
  }
  if (existing?.session !== undefined) return false
  const delayUntil = kv.lockDelayUntil.get(key)
  if (delayUntil !== undefined && delayUntil > ctx.clock.now()) return false
  kv.write(key, value, flags, { session, lockIndex: (existing?.lockIndex ?? 0) + 1 })
  return true
}

function deleteKv(kv: KvStore, ctx: RouteContext): Reply {
  const key = ctx.params[0] ?? ''
  const recurse = readQueryBool(ctx.query, 'recurse')
  if (key === '' && !recurse) throw new HttpError(400, 'Missing key name')
  requireAccess(ctx.caller, 'key', key, 'write')
  if (recurse) {
    kv.delete(kv.subtree(key).map((entry) => entry.key))
    return json(true)
  }
  const cas = readQueryUint(ctx.query, 'cas', 'cas index')
  const existing = kv.entries.get(key)
  // A CAS delete of a missing key succeeds; any index mismatch, cas=0 included, deletes nothing.
  if (cas !== undefined && existing && BigInt(existing.modifyIndex) !== cas) return json(false)
  if (existing) kv.delete([key])
  return json(true)
}

export function kvRoutes(kv: KvStore) {
  return [
    { name: 'kv.get', method: 'GET', pattern: /^\/v1\/kv\/?(.*)$/, handle: async (ctx: RouteContext) => readKv(kv, ctx) },
    { name: 'kv.put', method: 'PUT', pattern: /^\/v1\/kv\/?(.*)$/, handle: (ctx: RouteContext) => writeKv(kv, ctx) },
    { name: 'kv.delete', method: 'DELETE', pattern: /^\/v1\/kv\/?(.*)$/, handle: async (ctx: RouteContext) => deleteKv(kv, ctx) },
  ]
}
