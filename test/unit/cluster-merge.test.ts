import { describe, expect, it } from 'vitest'
import type { PoolView } from '../../src/admin/gateway-routes.js'
import { mergePoolViews } from '../../src/cluster.js'

function view(available: boolean, inflight: number, ejected = false, healthy = 2): PoolView {
  const endpoint = (id: string, up: boolean) => ({
    id, address: id, weight: 1, health: 'passing', ejected: false, available: up, listed: true, inflight, source: 'static', tags: [], meta: {},
  })
  return {
    service: 'web',
    revision: 1,
    policy: 'weighted-round-robin',
    rotation: { healthy, total: 2, panic: false },
    endpoints: [{ ...endpoint('a', available), ejected }, endpoint('b', true)],
  }
}

describe('worker endpoint views', () => {
  it('merges availability, ejection and in-flight counts', () => {
    const [merged] = mergePoolViews([[view(true, 2)], [view(false, 3, true, 1)]])
    expect(merged?.endpoints[0]).toMatchObject({ id: 'a', available: false, ejected: true, inflight: 5 })
    expect(merged?.endpoints[1]).toMatchObject({ id: 'b', available: true, inflight: 5 })
    expect(merged?.rotation.healthy).toBe(1)
  })

  it('returns nothing without workers', () => {
    expect(mergePoolViews([])).toEqual([])
  })
})
