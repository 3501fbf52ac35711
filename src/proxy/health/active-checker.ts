import type { Logger } from 'pino'
import { createProbe, type ProbeConfig, type ProbeFunction, type ProbeResult } from './probes.js'
import { systemScheduler, type Scheduler, type TimerHandle } from './scheduler.js'

/** Active-check view of an endpoint: `unknown` until its first probe completes. */
export type ActiveStatus = 'unknown' | 'up' | 'down'

export interface ActiveCheckConfig {
  probe: ProbeConfig
  /** Time from the end of one probe to the start of the next. */
  intervalMs: number
  /** A probe still running after this long counts as failed. */
  timeoutMs: number
  /** Consecutive successes that bring a down endpoint up (healthy threshold). */
  rise: number
  /** Consecutive failures that take an up endpoint down (unhealthy threshold). */
  fall: number
}

/** Endpoint to probe; `id` keys the status. */
export interface CheckTarget {
  id: string
  host: string
  port: number
}

export type ActiveStatusListener = (
  endpointId: string,
  status: ActiveStatus,
  reason: string,
) => void

export interface ActiveCheckerOptions {
  service: string
  config: ActiveCheckConfig
  scheduler?: Scheduler
  /** Replaces the real HTTP or TCP probe, for tests. */
  probe?: ProbeFunction
  logger?: Logger
  /** Called once per status change, after the change is logged. */
  onChange?: ActiveStatusListener
}

interface CheckEntry {
  target: CheckTarget
  status: ActiveStatus
  successes: number
  failures: number
  timer: TimerHandle | undefined
  abort: AbortController | undefined
  isStopped: boolean
}

/**
 * Probes every endpoint of one service on its own timer and tracks rise and fall thresholds.
 * An endpoint starts `unknown`, and its first probe result sets `up` or `down` directly, so a
 * dead endpoint leaves rotation after one timeout instead of `fall` intervals. After that,
 * `rise` consecutive successes or `fall` consecutive failures change the status.
 */
export class ActiveChecker {
  readonly #service: string
  readonly #config: ActiveCheckConfig
  readonly #scheduler: Scheduler
  readonly #probe: ProbeFunction
  readonly #logger: Logger | undefined
  readonly #onChange: ActiveStatusListener | undefined
  readonly #entries = new Map<string, CheckEntry>()

  constructor(options: ActiveCheckerOptions) {
    validateCheckConfig(options.config)
    this.#service = options.service
    this.#config = options.config
    this.#scheduler = options.scheduler ?? systemScheduler
    this.#probe = options.probe ?? createProbe(options.config.probe)
    this.#logger = options.logger
    this.#onChange = options.onChange
  }

  /**
   * Replaces the set of probed endpoints. New ones are probed at once. Kept ones keep their
   * status and schedule. Removed ones stop, and a probe still running for them is aborted.
   */
  setEndpoints(targets: readonly CheckTarget[]): void {
    const wanted = new Map(targets.map((target) => [target.id, target]))
    for (const [id, entry] of this.#entries) {
      const target = wanted.get(id)
      const isSameAddress = target?.host === entry.target.host && target?.port === entry.target.port
      if (isSameAddress) continue
      this.#stopEntry(entry)
      this.#entries.delete(id)
    }
    for (const target of targets) {
      if (this.#entries.has(target.id)) continue
      const entry: CheckEntry = {
        target,
        status: 'unknown',
        successes: 0,
        failures: 0,
        timer: undefined,
        abort: undefined,
        isStopped: false,
      }
      this.#entries.set(target.id, entry)
      this.#schedule(entry, 0)
    }
  }

  /** Returns the status of an endpoint; `unknown` for one that is not being probed. */
  status(endpointId: string): ActiveStatus {
    return this.#entries.get(endpointId)?.status ?? 'unknown'
  }

  /** Stops every timer and aborts running probes. */
  stop(): void {
    for (const entry of this.#entries.values()) this.#stopEntry(entry)
    this.#entries.clear()
  }

  #schedule(entry: CheckEntry, delayMs: number): void {
    entry.timer = this.#scheduler.setTimer(() => this.#runProbe(entry), delayMs)
  }

  #runProbe(entry: CheckEntry): void {
    entry.timer = undefined
    const abort = new AbortController()
    entry.abort = abort
    let isSettled = false

    const finish = (result: ProbeResult): void => {
      if (isSettled) return
      isSettled = true
      this.#scheduler.clearTimer(deadline)
      entry.abort = undefined
      if (entry.isStopped) return
      this.#record(entry, result)
      this.#schedule(entry, this.#config.intervalMs)
    }
    const deadline = this.#scheduler.setTimer(() => {
      abort.abort()
      finish({ ok: false, reason: `timed out after ${this.#config.timeoutMs} ms` })
    }, this.#config.timeoutMs)

    let pending: Promise<ProbeResult>
    try {
      pending = this.#probe(entry.target, abort.signal)
    } catch (err) {
      pending = Promise.reject(err)
    }
    pending.then(finish, (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err)
      finish({ ok: false, reason: `probe failed: ${message}` })
    })
  }

  #record(entry: CheckEntry, result: ProbeResult): void {
    if (result.ok) {
      entry.successes++
      entry.failures = 0
    } else {
      entry.failures++
      entry.successes = 0
    }
    const endpoint = entry.target.id
    if (this.#logger?.isLevelEnabled('debug') === true) {
      const fields = { service: this.#service, endpoint, ok: result.ok, reason: result.reason }
      this.#logger.debug(fields, 'health probe result')
    }

    const next = nextStatus(entry, this.#config)
    if (next === entry.status) return
    entry.status = next
    const fields = { service: this.#service, endpoint, status: next, reason: result.reason }
    if (next === 'down') this.#logger?.warn(fields, 'endpoint down: active health check failed')
    else this.#logger?.info(fields, 'endpoint up: active health check passed')
    this.#onChange?.(endpoint, next, result.reason)
  }

  #stopEntry(entry: CheckEntry): void {
    entry.isStopped = true
    if (entry.timer !== undefined) this.#scheduler.clearTimer(entry.timer)
    entry.timer = undefined
    entry.abort?.abort()
  }
}

function nextStatus(entry: CheckEntry, config: ActiveCheckConfig): ActiveStatus {
  if (entry.status === 'unknown') return entry.successes > 0 ? 'up' : 'down'
  if (entry.status === 'up' && entry.failures >= config.fall) return 'down'
  if (entry.status === 'down' && entry.successes >= config.rise) return 'up'
  return entry.status
}

/** Throws a RangeError naming the first invalid setting. */
export function validateCheckConfig(config: ActiveCheckConfig): void {
  for (const name of ['intervalMs', 'timeoutMs'] as const) {
    const value = config[name]
    if (!(Number.isFinite(value) && value > 0)) {
      throw new RangeError(`invalid health check ${name} ${value}: expected milliseconds above 0`)
    }
  }
  for (const name of ['rise', 'fall'] as const) {
    const value = config[name]
    if (!(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`invalid health check ${name} ${value}: expected an integer above 0`)
    }
  }
  if (config.probe.kind === 'http' && !config.probe.path.startsWith('/')) {
    const path = JSON.stringify(config.probe.path)
    throw new RangeError(`invalid health check path ${path}: expected a path starting with /`)
  }
}
