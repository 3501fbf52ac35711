import type { Logger } from 'pino'
import type { EndpointHealth } from '../../discovery/types.js'
import type { Balancer, Endpoint } from '../balancers/types.js'
import type { ActiveStatus } from './active-checker.js'
import { EndpointHealthState } from './endpoint-health-state.js'
import { DEFAULT_PANIC_THRESHOLD_PERCENT, selectRotation, type Rotation } from './rotation.js'
import { systemScheduler, type Scheduler, type TimerHandle } from './scheduler.js'

/** One endpoint as discovery reports it, with the runtime object the balancer picks. */
export interface ServiceEndpoint {
  endpoint: Endpoint
  configuredWeight: number
  sourceHealth: EndpointHealth
}

export interface ServiceHealthOptions {
  service: string
  balancer: Balancer
  /** Default 50; 0 disables panic mode. */
  panicThresholdPercent?: number
  /** Slow-start ramp length for returning or joining endpoints; 0 (default) disables it. */
  slowStartMs?: number
  scheduler?: Scheduler
  logger?: Logger
  /** Called after every recompute, after `balancer.update()`, for sticky sessions or metrics. */
  onRotation?: (rotation: Rotation) => void
}

type RotationMode = 'normal' | 'panic' | 'none-healthy'

/**
 * Joins discovery, active checks and passive ejection for one service. Each change recomputes
 * the rotation and calls `balancer.update()`. During slow start a timer does the same at each
 * ramp step, so picks only read precomputed weights. Wire `ActiveChecker.onChange` to
 * `setActiveStatus` and `OutlierDetector.onChange` to `setEjected`.
 */
export class ServiceHealth {
  readonly #options: ServiceHealthOptions
  readonly #scheduler: Scheduler
  readonly #states = new Map<string, EndpointHealthState>()
  #endpoints: Endpoint[] = []
  #rotation: Rotation = {
    endpoints: [],
    healthy: 0,
    total: 0,
    isPanic: false,
    nextUpdateAt: undefined,
  }
  #mode: RotationMode = 'normal'
  #timer: TimerHandle | undefined
  #hasServed = false

  constructor(options: ServiceHealthOptions) {
    this.#options = options
    this.#scheduler = options.scheduler ?? systemScheduler
  }

  /** Latest rotation: the endpoint list handed to the balancer and the counts behind it. */
  get rotation(): Rotation {
    return this.#rotation
  }

  /** Returns the health state of an endpoint, or undefined for an unknown id. */
  state(endpointId: string): EndpointHealthState | undefined {
    return this.#states.get(endpointId)
  }

  /**
   * Replaces the endpoint set from discovery. An endpoint that joins after the service has
   * served starts in slow start. Those of the first set start at full weight.
   */
  setEndpoints(entries: readonly ServiceEndpoint[]): void {
    const now = this.#scheduler.now()
    const states = new Map<string, EndpointHealthState>()
    for (const { endpoint, configuredWeight, sourceHealth } of entries) {
      let state = this.#states.get(endpoint.id)
      if (state === undefined) {
        state = new EndpointHealthState(configuredWeight, this.#options.slowStartMs ?? 0)
        if (this.#hasServed) state.startSlowStart(now)
      }
      state.configuredWeight = configuredWeight
      state.sourceHealth = sourceHealth
      states.set(endpoint.id, state)
    }
    this.#states.clear()
    for (const [id, state] of states) this.#states.set(id, state)
    this.#endpoints = entries.map((entry) => entry.endpoint)
    this.#hasServed = this.#hasServed || entries.length > 0
    this.#recompute()
  }

  setActiveStatus(endpointId: string, status: ActiveStatus): void {
    this.#states.get(endpointId)?.setActiveStatus(status, this.#scheduler.now())
    this.#recompute()
  }

  setEjected(endpointId: string, isEjected: boolean): void {
    this.#states.get(endpointId)?.setEjected(isEjected, this.#scheduler.now())
    this.#recompute()
  }

  /** Cancels the slow-start timer. */
  stop(): void {
    if (this.#timer !== undefined) this.#scheduler.clearTimer(this.#timer)
    this.#timer = undefined
  }

  #recompute(): void {
    this.stop()
    const now = this.#scheduler.now()
    const threshold = this.#options.panicThresholdPercent ?? DEFAULT_PANIC_THRESHOLD_PERCENT
    const rotation = selectRotation(this.#endpoints, this.#states, threshold, now)
    this.#rotation = rotation
    this.#options.balancer.update(rotation.endpoints)
    this.#logModeChange(rotation)
    this.#options.onRotation?.(rotation)

    if (rotation.nextUpdateAt !== undefined) {
      const delayMs = Math.max(0, rotation.nextUpdateAt - now)
      this.#timer = this.#scheduler.setTimer(() => this.#recompute(), delayMs)
    }
  }

  #logModeChange(rotation: Rotation): void {
    const mode = rotationMode(rotation)
    if (mode === this.#mode) return
    this.#mode = mode

    const logger = this.#options.logger
    const { healthy, total } = rotation
    const fields = { service: this.#options.service, healthy, total }
    if (mode === 'panic') logger?.warn(fields, 'panic mode: too few healthy endpoints, using all')
    else if (mode === 'none-healthy') logger?.warn(fields, 'no healthy endpoints')
    else logger?.info(fields, 'enough healthy endpoints again: normal mode')
  }
}

function rotationMode(rotation: Rotation): RotationMode {
  if (rotation.isPanic) return 'panic'
  if (rotation.total > 0 && rotation.healthy === 0) return 'none-healthy'
  return 'normal'
}
