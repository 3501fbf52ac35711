import { describe, expect, it } from 'vitest'
import { checkReadiness } from '../../../src/admin/gateway-routes.js'
import { ControlService } from '../../../src/control/control-service.js'
import { MemoryStore } from '../../../src/control/store.js'
import type { ProviderStatus } from '../../../src/discovery/types.js'
import type { Gateway } from '../../../src/gateway.js'

function gateway(state: { ready?: boolean; draining?: boolean; providers?: ProviderStatus[]; unbound?: string }): Gateway {
  const stub = {
    ready: state.ready ?? true,
    draining: state.draining ?? false,
    providerStatus: () => state.providers ?? [],
    dataPlane: { unbound: state.unbound },
  }
  return stub as unknown as Gateway
}

describe('checkReadiness', () => {
  it('is ready when started', () => {
    expect(checkReadiness({ gateway: gateway({}) })).toEqual({ ready: true, reasons: [], warnings: [], discovery: [] })
  })

  it('warns while the SLB is unbound', () => {
    const result = checkReadiness({ gateway: gateway({ unbound: 'SLB slb-1 is not bound to a cluster' }) })

    expect(result.ready).toBe(true)
    expect(result.warnings).toEqual(['SLB slb-1 is not bound to a cluster; every request gets 503 GW_LISTEN_UNBOUND'])
  })

  it('is not ready before start', () => {
    const result = checkReadiness({ gateway: gateway({ ready: false }) })

    expect(result.ready).toBe(false)
    expect(result.reasons).toEqual(['the gateway has not finished starting'])
  })

  it('is not ready while draining', () => {
    const result = checkReadiness({ gateway: gateway({ ready: false, draining: true }) })

    expect(result.reasons).toEqual(['the gateway is draining for shutdown'])
  })

  it('waits for the control state', async () => {
    const control = new ControlService({ store: new MemoryStore() })

    const before = checkReadiness({ gateway: gateway({}), control })
    await control.start()
    const after = checkReadiness({ gateway: gateway({}), control })

    expect(before.reasons).toEqual(['the control state has not been loaded yet'])
    expect(after.ready).toBe(true)
  })

  it('warns on a source with last known endpoints', () => {
    const providers = [{ source: 'consul', reachable: false, lastSuccessAt: 0, watched: 2 }]

    const result = checkReadiness({ gateway: gateway({ providers }) })

    expect(result.ready).toBe(true)
    expect(result.warnings).toEqual(['discovery source consul is unreachable; serving its last known endpoints'])
  })
})
