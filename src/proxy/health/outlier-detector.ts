import type { Logger } from 'pino'
import { systemScheduler, type Scheduler, type TimerHandle } from './scheduler.js'

/** What happened to one request or connection, as the forwarder reports it. */
export type OutcomeKind = 'connect-failure' | '5xx' | 'ok'

export interface RequestOutcome {
  ok: boolean
  kind: OutcomeKind
}

export interface OutlierDetectorOptions {
  service: string
  /** Consecutive connect failures or 5xx responses that eject an endpoint. Default 5. */
  consecutiveFailures?: number
  /** First ejection length; the nth ejection lasts base * 2^(n-1). Default 30,000. */
  baseEjectionMs?: number
  /** Upper bound on one ejection. Default 300,000. */
  maxEjectionMs?: number
  /**
   * Max share of the service's endpoints ejected at once. When none is ejected, one ejection
   * is always allowed, so small services are covered too. 0 turns ejection off. Default 10.
   */
  maxEjectionPercent?: number
  scheduler?: Scheduler
  logger?: Logger
  /** Called when an endpoint is ejected or returns, after the change is logged. */
  onChange?: (endpointId: string, isEjected: boolean) => void
}

interface OutlierEntry {
  failures: number
  /** Ejections that still count towards the next ejection's length. */
  ejections: number
  returnedAt: number
  timer: TimerHandle | undefined
}

/**
 * Passive health: counts consecutive failures per endpoint from real traffic and ejects an
 * endpoint that reaches the threshold. Each repeated ejection doubles in length up to the
 * cap. Every `baseEjectionMs` an endpoint spends back in rotation forgives one past ejection.
 */
export class OutlierDetector {
  readonly #service: string
  readonly #threshold: number
  readonly #baseMs: number
  readonly #maxMs: number
  readonly #maxPercent: number
  readonly #scheduler: Scheduler
  readonly #logger: Logger | undefined
  readonly #onChange: ((endpointId: string, isEjected: boolean) => void) | undefined
  readonly #entries = new Map<string, OutlierEntry>()
  #ejectedCount = 0
  #skippedEjections = 0

  constructor(options: OutlierDetectorOptions) {
    this.#service = options.service
    this.#threshold = options.consecutiveFailures ?? 5
    this.#baseMs = options.baseEjectionMs ?? 30_000
    this.#maxMs = options.maxEjectionMs ?? 300_000
    this.#maxPercent = options.maxEjectionPercent ?? 10
    this.#scheduler = options.scheduler ?? systemScheduler
    this.#logger = options.logger
    this.#onChange = options.onChange
    validateOutlierSettings(this.#threshold, this.#baseMs, this.#maxMs, this.#maxPercent)
  }

  /** Ejections refused because the max ejection percent was reached. */
  get skippedEjections(): number {
    return this.#skippedEjections
  }

  /** Replaces the set of tracked endpoints; removed ones forget their history. */
  setEndpoints(endpointIds: readonly string[]): void {
    const wanted = new Set(endpointIds)
    for (const [id, entry] of this.#entries) {
      if (wanted.has(id)) continue
      if (entry.timer !== undefined) {
        this.#scheduler.clearTimer(entry.timer)
        this.#ejectedCount--
      }
      this.#entries.delete(id)
    }
    for (const id of endpointIds) {
      if (this.#entries.has(id)) continue
      this.#entries.set(id, { failures: 0, ejections: 0, returnedAt: 0, timer: undefined })
    }
  }

  /**
   * Records the outcome of one request or connection, at the cost of one map lookup.
   * Outcomes for unknown or already ejected endpoints are ignored.
   */
  onResult(endpoint: { readonly id: string }, outcome: RequestOutcome): void {
    const entry = this.#entries.get(endpoint.id)
    if (entry === undefined || entry.timer !== undefined) return
    if (outcome.ok) {
      entry.failures = 0
      return
    }
    entry.failures++
    if (entry.failures >= this.#threshold) this.#tryEject(endpoint.id, entry, outcome.kind)
  }

  /** Returns whether the endpoint is ejected now. */
  isEjected(endpointId: string): boolean {
    return this.#entries.get(endpointId)?.timer !== undefined
  }

  /** Clears every ejection timer. */
  stop(): void {
    for (const entry of this.#entries.values()) {
      if (entry.timer !== undefined) this.#scheduler.clearTimer(entry.timer)
      entry.timer = undefined
    }
    this.#ejectedCount = 0
  }

  #tryEject(id: string, entry: OutlierEntry, kind: OutcomeKind): void {
    if (!this.#hasEjectionRoom()) {
      this.#skippedEjections++
      const fields = { service: this.#service, endpoint: id, ejected: this.#ejectedCount }
      this.#logger?.debug(fields, 'ejection skipped: max ejection percent reached')
      return
    }

    const now = this.#scheduler.now()
    const forgiven = entry.returnedAt > 0 ? Math.floor((now - entry.returnedAt) / this.#baseMs) : 0
    entry.ejections = Math.max(0, entry.ejections - forgiven) + 1
    const durationMs = Math.min(this.#maxMs, this.#baseMs * 2 ** (entry.ejections - 1))
    entry.timer = this.#scheduler.setTimer(() => this.#restore(id, entry), durationMs)
    this.#ejectedCount++

    const last = kind === '5xx' ? '5xx response' : 'connect failure'
    const reason = `${entry.failures} consecutive failures, the last a ${last}`
    entry.failures = 0
    const fields = { service: this.#service, endpoint: id, reason, ejectionMs: durationMs }
    this.#logger?.warn(fields, 'endpoint ejected by outlier detection')
    this.#onChange?.(id, true)
  }

  #restore(id: string, entry: OutlierEntry): void {
    entry.timer = undefined
    entry.returnedAt = this.#scheduler.now()
    this.#ejectedCount--
    this.#logger?.info({ service: this.#service, endpoint: id }, 'endpoint returned after ejection')
    this.#onChange?.(id, false)
  }

  #hasEjectionRoom(): boolean {
    if (this.#maxPercent <= 0) return false
    if (this.#ejectedCount === 0) return true
    return (this.#ejectedCount + 1) * 100 <= this.#maxPercent * this.#entries.size
  }
}

function validateOutlierSettings(
  threshold: number,
  baseMs: number,
  maxMs: number,
  percent: number,
): void {
  if (!(Number.isInteger(threshold) && threshold > 0)) {
    throw new RangeError(`invalid consecutiveFailures ${threshold}: expected an integer above 0`)
  }
  if (!(baseMs > 0 && maxMs >= baseMs)) {
    throw new RangeError(`invalid ejection times ${baseMs}/${maxMs} ms: expected 0 < base <= max`)
  }
  if (!(percent >= 0 && percent <= 100)) {
    throw new RangeError(`invalid maxEjectionPercent ${percent}: expected 0 to 100`)
  }
}
