import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type Consul from 'consul'
import type { Logger } from 'pino'
import { ControlError } from './errors.js'
import { emptyState, type ControlState, type StateSnapshot } from './model.js'
import { checkStateShape, revisionConflict, type ControlStore } from './store.js'

const VALUE_FORMAT = 1
/** Consul's default `kv_max_value_size`. */
export const CONSUL_MAX_VALUE_BYTES = 512 * 1024
const MAX_RETRY_DELAY_MS = 30_000

export interface ConsulKvStoreOptions {
  /** Client for the local Consul agent. The caller owns it, so `close()` leaves it open. */
  client: Consul
  /** Key prefix. The state lives at `<prefix>/state`. Default `portway/control`. */
  prefix?: string
  /** How long one blocking query waits for a change. Default 30000. */
  watchWaitMs?: number
  /** First delay before retrying a failed watch request. It doubles up to 30 s. Default 1000. */
  watchRetryMs?: number
  /** Largest value this store writes. Default 512 KiB, Consul's default limit. */
  maxValueBytes?: number
  log?: Logger
}

interface StateValue {
  format: number
  /** Random id of the write, so a writer can tell its own value from a later one. */
  writeId: string
  state: ControlState
}

interface KvItem {
  ModifyIndex: number
  Value: string | null
}

interface KvResponse {
  headers: Record<string, string | string[] | undefined>
}

/** The part of the `consul` client's KV API this store uses, typed for the options it passes. */
interface KvApi {
  get(options: Record<string, unknown>): Promise<unknown>
  set(options: Record<string, unknown>): Promise<boolean>
}

/**
 * Keeps the whole control state as one JSON value in Consul KV. The revision is the key's
 * ModifyIndex, and every write is a `cas=<ModifyIndex>` PUT (`cas=0` creates the key), so of two
 * replicas writing on the same revision only one succeeds. The other gets `GW_CTL_CONFLICT`.
 *
 * NOTE: one value contains everything, so the state is limited to `maxValueBytes`. At roughly 300
 * bytes per record that is an estimate of 1,700 records with the default limit.
 */
export class ConsulKvStore implements ControlStore {
  readonly key: string
  readonly #kv: KvApi
  readonly #waitMs: number
  readonly #retryMs: number
  readonly #maxValueBytes: number
  readonly #log: Logger | undefined
  readonly #stops = new Set<() => void>()

  constructor(options: ConsulKvStoreOptions) {
    this.key = `${(options.prefix ?? 'portway/control').replace(/\/+$/, '')}/state`
    this.#kv = options.client.kv as unknown as KvApi
    this.#waitMs = options.watchWaitMs ?? 30_000
    this.#retryMs = options.watchRetryMs ?? 1000
    this.#maxValueBytes = options.maxValueBytes ?? CONSUL_MAX_VALUE_BYTES
    this.#log = options.log
  }

  async load(): Promise<StateSnapshot> {
    const item = await this.#request('read', () => this.#kv.get({ key: this.key, consistent: true }))
    return this.#toSnapshot(item as KvItem | undefined).snapshot
  }

  async write(state: ControlState, expectedRevision: number): Promise<StateSnapshot> {
    const writeId = randomUUID()
    const value = JSON.stringify({ format: VALUE_FORMAT, writeId, state } satisfies StateValue)
    const bytes = Buffer.byteLength(value)
    if (bytes > this.#maxValueBytes) {
      throw new ControlError(
        'GW_CTL_STORE_TOO_LARGE',
        `control state is ${bytes} bytes, above the ${this.#maxValueBytes}-byte limit for consul key ${this.key}; ` +
          'delete unused records or raise the Consul and store value limits',
      )
    }

    const written = await this.#request('write', () =>
      this.#kv.set({ key: this.key, value, cas: expectedRevision }),
    )
    if (written !== true) {
      const current = await this.load()
      throw revisionConflict(`consul key ${this.key}`, expectedRevision, current.revision)
    }

    // A PUT does not return the new ModifyIndex, so read it back. If another writer already
    // replaced the value, its state was built on this one and is the one to keep.
    const item = await this.#request('read', () => this.#kv.get({ key: this.key, consistent: true }))
    const stored = this.#toSnapshot(item as KvItem | undefined)
    return stored.writeId === writeId ? { state, revision: stored.snapshot.revision } : stored.snapshot
  }

  /** Follows the key with blocking queries and calls `listener` with each new state. */
  watch(listener: (snapshot: StateSnapshot) => void): () => void {
    const ctx = Object.assign(new EventEmitter(), { includeResponse: true })
    let stopped = false
    let retryTimer: NodeJS.Timeout | undefined
    let wake: (() => void) | undefined
    const stop = (): void => {
      stopped = true
      ctx.emit('cancel')
      clearTimeout(retryTimer)
      wake?.()
      this.#stops.delete(stop)
    }
    this.#stops.add(stop)

    const delay = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        wake = resolve
        retryTimer = setTimeout(resolve, ms)
      })
    void this.#watchLoop(ctx, listener, () => stopped, delay)
    return stop
  }

  async close(): Promise<void> {
    for (const stop of [...this.#stops]) stop()
  }

  async #watchLoop(
    ctx: EventEmitter,
    listener: (snapshot: StateSnapshot) => void,
    isStopped: () => boolean,
    delay: (ms: number) => Promise<void>,
  ): Promise<void> {
    let index = 0
    let failures = 0
    while (!isStopped()) {
      try {
        const wait = `${Math.ceil(this.#waitMs / 1000)}s`
        // The client sets no timeout by default, so bound the request a little beyond the wait.
        const timeout = Math.ceil(this.#waitMs * 1.1) + 500
        const options = { key: this.key, index, wait, ctx, timeout }
        const [res, item] = (await this.#kv.get(options)) as [KvResponse, KvItem | undefined]
        failures = 0
        const next = Number(res.headers['x-consul-index'])
        if (!Number.isSafeInteger(next)) throw new Error('response has no X-Consul-Index header')
        // The index can move backwards, e.g. after a snapshot restore. Start over from 0 then.
        if (next < index) {
          index = 0
          continue
        }
        const changed = next !== index
        // A query with index 0 does not block, so 1 is the smallest index that waits.
        index = Math.max(next, 1)
        if (changed) listener(this.#toSnapshot(item).snapshot)
      } catch (err) {
        if (isStopped()) return
        failures += 1
        const retryMs = Math.min(this.#retryMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS)
        const message = `watching consul key failed; retrying in ${retryMs}ms`
        this.#log?.warn({ err, key: this.key, retryMs }, message)
        await delay(retryMs)
      }
    }
  }

  #toSnapshot(item: KvItem | undefined | null): { snapshot: StateSnapshot; writeId?: string } {
    if (item === undefined || item === null) return { snapshot: { state: emptyState(), revision: 0 } }

    let value: Partial<StateValue> = {}
    let problem: string | undefined
    try {
      value = JSON.parse(item.Value ?? '') as Partial<StateValue>
    } catch (err) {
      problem = `not valid JSON: ${(err as Error).message}`
    }
    if (problem === undefined && value.format !== VALUE_FORMAT) {
      problem = `unknown format ${JSON.stringify(value.format)}, expected ${VALUE_FORMAT}`
    }
    problem ??= checkStateShape(value.state)
    if (problem !== undefined) {
      throw new ControlError(
        'GW_CTL_STORE_CORRUPT',
        `consul key ${this.key} holds no valid control state (${problem}); ` +
          `restore it from a Consul snapshot, or delete the key to start with an empty state`,
      )
    }

    const snapshot = { state: value.state as ControlState, revision: item.ModifyIndex }
    return value.writeId === undefined ? { snapshot } : { snapshot, writeId: value.writeId }
  }

  async #request<T>(operation: 'read' | 'write', call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (err) {
      const message = `cannot ${operation} consul key ${this.key}: ${String(err)}`
      throw new ControlError('GW_CTL_STORE_UNAVAILABLE', message, { cause: err })
    }
  }
}
