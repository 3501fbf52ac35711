import type { EndpointHealth } from '../../discovery/types.js'
import type { ActiveStatus } from './active-checker.js'

/** Share of its weight a returning endpoint starts slow start with. */
export const SLOW_START_MIN_FACTOR = 0.1

/** Steps per slow-start ramp at which the pool should recompute weights. */
export const SLOW_START_STEPS = 10

/**
 * Everything health-related known about one endpoint: the source's status, the active check
 * status, passive ejection and the slow-start ramp. `selectRotation()` reads it to set the
 * endpoint's `available` flag and effective weight.
 */
export class EndpointHealthState {
  /** Weight from discovery; `Endpoint.weight` gets the effective weight instead. */
  configuredWeight: number
  sourceHealth: EndpointHealth = 'passing'
  readonly slowStartMs: number
  #activeStatus: ActiveStatus = 'unknown'
  #isEjected = false
  #rampStartedAt: number | undefined

  constructor(configuredWeight: number, slowStartMs = 0) {
    this.configuredWeight = configuredWeight
    this.slowStartMs = slowStartMs
  }

  get activeStatus(): ActiveStatus {
    return this.#activeStatus
  }

  get isEjected(): boolean {
    return this.#isEjected
  }

  /** Whether active checks and passive ejection both allow traffic; ignores source and panic. */
  get isHealthy(): boolean {
    return this.#activeStatus !== 'down' && !this.#isEjected
  }

  /** Sets the active status; going from unhealthy to healthy starts slow start at `now`. */
  setActiveStatus(status: ActiveStatus, now: number): void {
    const wasHealthy = this.isHealthy
    this.#activeStatus = status
    this.#noteTransition(wasHealthy, now)
  }

  /** Sets passive ejection; returning from it starts slow start at `now`. */
  setEjected(isEjected: boolean, now: number): void {
    const wasHealthy = this.isHealthy
    this.#isEjected = isEjected
    this.#noteTransition(wasHealthy, now)
  }

  /** Starts slow start at `now`, for an endpoint that joins a service already serving. */
  startSlowStart(now: number): void {
    if (this.slowStartMs > 0) this.#rampStartedAt = now
  }

  /**
   * Returns the weight balancers should use at `now`: the configured weight, or during slow
   * start a linear ramp from 10% of it to all of it over `slowStartMs`.
   */
  effectiveWeight(now: number): number {
    const weight = this.configuredWeight
    if (!(weight > 0) || this.#rampStartedAt === undefined) return Math.max(0, weight)

    const elapsed = now - this.#rampStartedAt
    if (elapsed >= this.slowStartMs) {
      this.#rampStartedAt = undefined
      return weight
    }
    const progress = Math.max(0, elapsed) / this.slowStartMs
    return weight * (SLOW_START_MIN_FACTOR + (1 - SLOW_START_MIN_FACTOR) * progress)
  }

  /** Returns when to recompute the effective weight next, or undefined when it is steady. */
  nextWeightChangeAt(now: number): number | undefined {
    if (this.#rampStartedAt === undefined) return undefined
    const rampEndsAt = this.#rampStartedAt + this.slowStartMs
    if (now >= rampEndsAt) return undefined
    const step = this.slowStartMs / SLOW_START_STEPS
    return Math.min(rampEndsAt, now + step)
  }

  #noteTransition(wasHealthy: boolean, now: number): void {
    if (!this.isHealthy) this.#rampStartedAt = undefined
    else if (!wasHealthy) this.startSlowStart(now)
  }
}
