import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { DEFAULT_POLICY } from '../../../src/config/service-policy.js'
import { UpstreamPool } from '../../../src/proxy/upstream-pool.js'

function pool(): UpstreamPool {
  return new UpstreamPool({ key: 'web', policy: DEFAULT_POLICY, log: pino({ level: 'silent' }) })
}

describe('retry budget', () => {
  it('allows three retries at low load', () => {
    const p = pool()
    p.inflight = 1
    expect([p.tryRetry(), p.tryRetry(), p.tryRetry(), p.tryRetry()]).toEqual([true, true, true, false])
  })

  it('scales with open requests', () => {
    const p = pool()
    p.inflight = 100
    let granted = 0
    while (p.tryRetry() && granted < 1_000) granted++
    expect(granted).toBe(20)
  })

  it('frees a retry when its request ends', () => {
    const p = pool()
    p.inflight = 1
    for (let i = 0; i < 3; i++) p.tryRetry()
    expect(p.tryRetry()).toBe(false)
    p.releaseRetry()
    expect(p.tryRetry()).toBe(true)
  })
})
