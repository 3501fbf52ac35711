import { describe, expect, it } from 'vitest'
import { explainRoute } from '../../../src/admin/route-explain.js'
import type { IngressSpec, RuleSpec } from '../../../src/ingress/model.js'
import { compileRoutes, type RoutingTable } from '../../../src/ingress/routing-table.js'

function rule(id: string, host: string | undefined, path: string, pathType: RuleSpec['pathType']): RuleSpec {
  return { id, ingress: 'ns/i', file: 'rules.yaml', line: 7, host, path, pathType, backend: { service: id } }
}

function table(rules: RuleSpec[], defaultService?: string): RoutingTable {
  const ingress: IngressSpec = {
    name: 'ns/i',
    file: 'rules.yaml',
    rules,
    tls: [],
    annotations: {},
    defaultBackend: defaultService === undefined ? undefined : { service: defaultService },
  }
  return compileRoutes([ingress], (b) => ({ service: b.service })).table
}

describe('explainRoute', () => {
  const rules = [
    rule('api-root', 'api.test', '/', 'Prefix'),
    rule('api-v1', 'api.test', '/v1', 'Prefix'),
    rule('api-health', 'api.test', '/health', 'Exact'),
    rule('wild', '*.apps.test', '/', 'Prefix'),
    rule('hostless', undefined, '/static', 'Prefix'),
  ]

  it('reports the longest prefix for an exact host', () => {
    const result = explainRoute(table(rules), 'API.test:8080', '/v1/users?x=1')

    expect(result.matched).toBe(true)
    expect(result.hostMatch).toBe('exact')
    expect(result.route?.name).toBe('api-v1')
    expect(result.route?.file).toBe('rules.yaml')
    expect(result.route?.line).toBe(7)
    expect(result.normalizedHost).toBe('api.test')
    expect(result.path).toBe('/v1/users')
    expect(result.hostGroup).toEqual({ kind: 'exact', host: 'api.test', rules: 3 })
    expect(result.candidates.filter((c) => c.pathMatches).map((c) => c.rule)).toEqual(['api-root', 'api-v1'])
    expect(result.reason).toContain('longest prefix')
  })

  it('reports an exact path match', () => {
    const result = explainRoute(table(rules), 'api.test', '/health')

    expect(result.route?.name).toBe('api-health')
    expect(result.reason).toContain('Exact path /health')
  })

  it('reports a wildcard host match', () => {
    const result = explainRoute(table(rules), 'shop.apps.test', '/')

    expect(result.hostMatch).toBe('wildcard')
    expect(result.hostGroup).toEqual({ kind: 'wildcard', host: '*.apps.test', rules: 1 })
  })

  it('explains a miss within a host group', () => {
    const result = explainRoute(table([rule('only', 'a.test', '/x', 'Exact'), rule('hostless', undefined, '/', 'Prefix')]), 'a.test', '/y')

    expect(result.matched).toBe(false)
    expect(result.route).toBeUndefined()
    expect(result.reason).toContain('none of the 1 rule(s) for host a.test matches path /y')
    expect(result.reason).toContain('does not fall back to host-less rules')
  })

  it('explains a host that selects nothing', () => {
    const result = explainRoute(table([rule('only', 'a.test', '/', 'Prefix')]), 'b.test', '/')

    expect(result.matched).toBe(false)
    expect(result.hostGroup).toEqual({ kind: 'any', rules: 0 })
    expect(result.reason).toContain('no rule names host b.test')
  })

  it('reports the default backend', () => {
    const result = explainRoute(table([rule('only', 'a.test', '/x', 'Exact')], 'fallback'), 'a.test', '/y')

    expect(result.matched).toBe(true)
    expect(result.hostMatch).toBe('default')
    expect(result.route?.service).toBe('fallback')
    expect(result.reason).toContain('default backend')
  })

  it('matches prefixes by path element', () => {
    const result = explainRoute(table(rules), 'api.test', '/v10')

    expect(result.route?.name).toBe('api-root')
    expect(result.candidates.find((c) => c.rule === 'api-v1')?.pathMatches).toBe(false)
  })
})
