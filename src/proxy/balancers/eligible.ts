import type { Endpoint } from './types.js'

/**
 * Returns whether the endpoint may take a new request now: in rotation, not drained
 * (weight above 0) and not already tried for this request.
 */
export function isPickable(
  endpoint: Endpoint,
  exclude: ReadonlySet<Endpoint> | undefined,
): boolean {
  if (!endpoint.available || !(endpoint.weight > 0)) return false
  return exclude === undefined || !exclude.has(endpoint)
}

/** Returns the endpoints that are in rotation and not drained, in input order. */
export function selectEligible(endpoints: readonly Endpoint[]): Endpoint[] {
  return endpoints.filter((endpoint) => endpoint.available && endpoint.weight > 0)
}
