import { describe, expect, it } from 'vitest'
import { AdminError } from '../../../src/admin/admin-http.js'
import { Router, type RouteHandler } from '../../../src/admin/router.js'

const noop: RouteHandler = () => undefined

describe('Router', () => {
  it('extracts decoded parameters', () => {
    const router = new Router().on('GET', '/v1/endpoints/:service', noop)

    const found = router.lookup('GET', '/v1/endpoints/web%40consul%3A80')

    expect(found).toEqual({ handler: noop, params: { service: 'web@consul:80' } })
  })

  it('prefers literal segments over parameters', () => {
    const explain: RouteHandler = () => undefined
    const router = new Router().on('GET', '/v1/routes/:id', noop).on('GET', '/v1/routes/explain', explain)

    const found = router.lookup('GET', '/v1/routes/explain')

    expect(found).toEqual({ handler: explain, params: {} })
  })

  it('lists allowed methods for a known path', () => {
    const router = new Router().on('GET', '/v1/slbs/:id', noop).on('DELETE', '/v1/slbs/:id', noop)

    expect(router.lookup('PUT', '/v1/slbs/a')).toEqual({ allowed: ['DELETE', 'GET', 'HEAD'] })
  })

  it('answers HEAD with the GET handler', () => {
    const router = new Router().on('GET', '/healthz', noop)

    expect(router.lookup('HEAD', '/healthz')).toEqual({ handler: noop, params: {} })
  })

  it('returns undefined for an unknown path', () => {
    const router = new Router().on('GET', '/v1/slbs/:id', noop)

    expect(router.lookup('GET', '/v1/slbs')).toBeUndefined()
    expect(router.lookup('GET', '/v1/slbs/a/b')).toBeUndefined()
  })

  it('rejects broken percent-encoding', () => {
    const router = new Router().on('GET', '/v1/slbs/:id', noop)

    expect(() => router.lookup('GET', '/v1/slbs/%E0%A4%A')).toThrow(AdminError)
  })
})
