import { describe, expect, it } from 'vitest'
import { EndpointHealthState } from '../../../../src/proxy/health/endpoint-health-state.js'

describe('EndpointHealthState', () => {
  it('ramps weight linearly during slow start', () => {
    const state = new EndpointHealthState(10, 10_000)
    state.setActiveStatus('down', 0)
    state.setActiveStatus('up', 1000)
    expect(state.effectiveWeight(1000)).toBeCloseTo(1)
    expect(state.effectiveWeight(3500)).toBeCloseTo(3.25)
    expect(state.effectiveWeight(6000)).toBeCloseTo(5.5)
    expect(state.effectiveWeight(10_999)).toBeCloseTo(9.9991)
    expect(state.effectiveWeight(11_000)).toBe(10)
    expect(state.effectiveWeight(50_000)).toBe(10)
  })

  it('ramps after an ejection ends', () => {
    const state = new EndpointHealthState(4, 1000)
    state.setEjected(true, 0)
    state.setEjected(false, 500)
    expect(state.effectiveWeight(500)).toBeCloseTo(0.4)
    expect(state.effectiveWeight(1500)).toBe(4)
  })

  it('keeps full weight without slow start', () => {
    const state = new EndpointHealthState(4)
    state.setActiveStatus('down', 0)
    state.setActiveStatus('up', 10)
    expect(state.effectiveWeight(10)).toBe(4)
  })

  it('does not ramp when the first check passes', () => {
    const state = new EndpointHealthState(4, 1000)
    state.setActiveStatus('up', 0)
    expect(state.effectiveWeight(0)).toBe(4)
  })

  it('keeps weight 0 during a ramp', () => {
    const state = new EndpointHealthState(0, 1000)
    state.startSlowStart(0)
    expect(state.effectiveWeight(500)).toBe(0)
  })

  it('stays unhealthy while ejected even if checks pass', () => {
    const state = new EndpointHealthState(1)
    state.setEjected(true, 0)
    state.setActiveStatus('up', 0)
    expect(state.isHealthy).toBe(false)
  })

  it('schedules weight updates in tenths of the ramp', () => {
    const state = new EndpointHealthState(1, 10_000)
    state.startSlowStart(0)
    expect(state.nextWeightChangeAt(0)).toBe(1000)
    expect(state.nextWeightChangeAt(9500)).toBe(10_000)
    expect(state.nextWeightChangeAt(10_000)).toBeUndefined()
  })
})
