import { hashString, mix32 } from './hash.js'
import type { Endpoint } from './types.js'

/**
 * Ring points per unit of weight. An endpoint's points depend only on its own id and weight,
 * so adding or removing one endpoint moves only the keys that land on its points.
 */
export const RING_POINTS_PER_WEIGHT = 256

/**
 * Upper bound on ring points. Above it every endpoint's count is scaled down together, and
 * then a change to one endpoint can also move keys between the others.
 */
export const MAX_RING_POINTS = 1 << 16

// Sort keys pack a 32-bit point hash above a 20-bit owner index, which fits a double exactly.
const OWNER_BITS = 2 ** 20

/** Hash ring: point hashes in ascending order and, for each point, the owning endpoint's index. */
export interface HashRing {
  readonly hashes: Uint32Array
  readonly owners: Uint32Array
}

/** Builds the ring for `endpoints`, with points in proportion to each endpoint's weight. */
export function buildHashRing(endpoints: readonly Endpoint[]): HashRing {
  const counts = endpoints.map((endpoint) =>
    Math.max(1, Math.round(endpoint.weight * RING_POINTS_PER_WEIGHT)),
  )
  const wanted = counts.reduce((sum, count) => sum + count, 0)
  if (wanted > MAX_RING_POINTS) {
    for (let i = 0; i < counts.length; i++) {
      counts[i] = Math.max(1, Math.floor((counts[i]! * MAX_RING_POINTS) / wanted))
    }
  }

  const keys = new Float64Array(counts.reduce((sum, count) => sum + count, 0))
  let next = 0
  endpoints.forEach((endpoint, owner) => {
    const idHash = hashString(endpoint.id)
    for (let point = 0; point < counts[owner]!; point++) {
      keys[next++] = mix32(idHash ^ mix32(point + 1)) * OWNER_BITS + owner
    }
  })
  keys.sort()

  const hashes = new Uint32Array(keys.length)
  const owners = new Uint32Array(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const hash = Math.floor(keys[i]! / OWNER_BITS)
    hashes[i] = hash
    owners[i] = keys[i]! - hash * OWNER_BITS
  }
  return { hashes, owners }
}

/** Returns the index of the first point at or after `hash`, wrapping to 0 past the last. */
export function findRingPosition(hashes: Uint32Array, hash: number): number {
  let low = 0
  let high = hashes.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (hashes[middle]! < hash) low = middle + 1
    else high = middle
  }
  return low === hashes.length ? 0 : low
}
