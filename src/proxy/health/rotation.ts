import type { Endpoint } from '../balancers/types.js'
import type { EndpointHealthState } from './endpoint-health-state.js'

/** Default panic threshold: below this share of healthy endpoints, traffic goes to all of them. */
export const DEFAULT_PANIC_THRESHOLD_PERCENT = 50

/** Result of `selectRotation()`. */
export interface Rotation {
  /** Endpoints to hand to the balancer: the input minus those the source reports critical. */
  endpoints: Endpoint[]
  /** Endpoints with weight above 0 that active and passive checks both allow. */
  healthy: number
  /** Endpoints with configured weight above 0 that the source does not report critical. */
  total: number
  /** True when too few endpoints are healthy and all of them get traffic regardless. */
  isPanic: boolean
  /** When slow start next changes a weight, or undefined when no endpoint is ramping. */
  nextUpdateAt: number | undefined
}

/**
 * Sets `available` and `weight` on each endpoint and returns the list for the balancer.
 * The rules apply in this order:
 * 1. The source reports `critical`: removed from the list, even in panic mode.
 * 2. Configured weight 0: kept but unavailable (drained), and left out of the panic count.
 * 3. Active check `down`: unavailable.
 * 4. Passively ejected: unavailable.
 * 5. Panic mode, when the healthy share of the counted endpoints falls below
 *    `panicThresholdPercent`: rules 3 and 4 are ignored and every counted endpoint is
 *    available at its configured weight. 0 disables panic mode.
 * Outside panic mode, a healthy endpoint gets its slow-start effective weight. An endpoint
 * without a state counts as healthy and keeps its current weight.
 */
export function selectRotation(
  endpoints: readonly Endpoint[],
  states: ReadonlyMap<string, EndpointHealthState>,
  panicThresholdPercent: number = DEFAULT_PANIC_THRESHOLD_PERCENT,
  now = 0,
): Rotation {
  const listed: Endpoint[] = []
  let healthy = 0
  let total = 0
  for (const endpoint of endpoints) {
    const state = states.get(endpoint.id)
    if (state?.sourceHealth === 'critical') continue
    listed.push(endpoint)
    if (!(configuredWeight(endpoint, state) > 0)) continue
    total++
    if (state === undefined || state.isHealthy) healthy++
  }

  const isPanic =
    panicThresholdPercent > 0 && total > 0 && healthy * 100 < panicThresholdPercent * total
  let nextUpdateAt: number | undefined
  for (const endpoint of listed) {
    const state = states.get(endpoint.id)
    if (state === undefined) {
      endpoint.available = endpoint.weight > 0
      continue
    }
    const isHealthy = state.isHealthy
    endpoint.available = state.configuredWeight > 0 && (isHealthy || isPanic)
    const isRamping = isHealthy && !isPanic
    endpoint.weight = isRamping ? state.effectiveWeight(now) : state.configuredWeight
    const changeAt = isRamping ? state.nextWeightChangeAt(now) : undefined
    if (changeAt !== undefined && (nextUpdateAt === undefined || changeAt < nextUpdateAt)) {
      nextUpdateAt = changeAt
    }
  }
  return { endpoints: listed, healthy, total, isPanic, nextUpdateAt }
}

function configuredWeight(endpoint: Endpoint, state: EndpointHealthState | undefined): number {
  return state === undefined ? endpoint.weight : state.configuredWeight
}
