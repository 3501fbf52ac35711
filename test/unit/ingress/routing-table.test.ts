import { describe, expect, it } from 'vitest'
import type { IngressSpec, RuleSpec } from '../../../src/ingress/model.js'
import { compileRoutes, normalizeHost, pathElements } from '../../../src/ingress/routing-table.js'

function rule(id: string, host: string | undefined, path: string, pathType: RuleSpec['pathType'], service: string): RuleSpec {
  return { id, ingress: 'ns/i', file: 'f.yaml', host, path, pathType, backend: { service } }
}

function ingress(name: string, rules: RuleSpec[], defaultService?: string): IngressSpec {
  return { name, file: `${name}.yaml`, rules, tls: [], annotations: {}, defaultBackend: defaultService === undefined ? undefined : { service: defaultService } }
}

const resolveAll = (b: { service: string }): { service: string } => ({ service: b.service })

describe('routing table', () => {
  it.each([
    ['Foo.Example.COM', 'foo.example.com'],
    ['foo.example.com:8080', 'foo.example.com'],
    ['foo.example.com.', 'foo.example.com'],
    ['foo.example.com.:80', 'foo.example.com'],
    ['[::1]:8080', '[::1]'],
  ])('normalizes host %s', (raw, expected) => {
    expect(normalizeHost(raw)).toBe(expected)
  })

  it.each([
    ['/', []],
    ['/foo', ['foo']],
    ['/foo/', ['foo']],
    ['/a/b/c', ['a', 'b', 'c']],
  ])('splits %s into elements', (path, expected) => {
    expect(pathElements(path)).toEqual(expected)
  })

  it('exact host beats wildcard beats host-less', () => {
    const { table } = compileRoutes([
      ingress('a', [rule('any', undefined, '/', 'Prefix', 'any'), rule('wild', '*.x.test', '/', 'Prefix', 'wild'), rule('exact', 'a.x.test', '/', 'Prefix', 'exact')]),
    ], resolveAll)
    expect(table.match('a.x.test', '/')?.route.service).toBe('exact')
    expect(table.match('b.x.test', '/')?.route.service).toBe('wild')
    expect(table.match('c.b.x.test', '/')?.route.service).toBe('any')
    expect(table.match('x.test', '/')?.route.service).toBe('any')
  })

  it('host with rules does not fall through to host-less rules', () => {
    const { table } = compileRoutes([
      ingress('a', [rule('any', undefined, '/', 'Prefix', 'any'), rule('exact', 'a.test', '/only', 'Exact', 'exact')]),
    ], resolveAll)
    expect(table.match('a.test', '/other')).toBeUndefined()
    expect(table.match('b.test', '/other')?.route.service).toBe('any')
  })

  it('unmatched host falls back to the default backend', () => {
    const { table } = compileRoutes([ingress('a', [rule('r', 'a.test', '/x', 'Exact', 'x')], 'fallback')], resolveAll)
    expect(table.match('a.test', '/y')).toMatchObject({ hostMatch: 'default', route: { service: 'fallback' } })
  })

  it('first loaded duplicate wins and the second is reported', () => {
    const { table, duplicates } = compileRoutes([
      ingress('a', [rule('first', 'a.test', '/p', 'Prefix', 'one')]),
      ingress('b', [rule('second', 'a.test', '/p/', 'Prefix', 'two')]),
    ], resolveAll)
    expect(table.match('a.test', '/p')?.route.service).toBe('one')
    expect(duplicates.map((d) => d.rule)).toEqual(['second'])
  })

  it('rule with an unresolvable backend is disabled alone', () => {
    const { table } = compileRoutes([
      ingress('a', [rule('good', 'a.test', '/', 'Prefix', 'ok'), rule('bad', 'b.test', '/', 'Prefix', 'missing')]),
    ], (b) => (b.service === 'missing' ? { error: 'no such service' } : { service: b.service }))
    expect(table.match('a.test', '/')?.route.service).toBe('ok')
    expect(table.match('b.test', '/')).toBeUndefined()
    expect(table.rejected).toEqual([{ rule: 'bad', file: 'f.yaml', line: undefined, reason: 'no such service' }])
  })

  it('disables rules with an invalid HSTS annotation', () => {
    const bad: IngressSpec = { ...ingress('a', [rule('r', 'a.test', '/', 'Prefix', 'a')]), annotations: { 'portway.io/hsts': 'max-age=1\r\nX-Injected: yes' } }
    const { table } = compileRoutes([bad], resolveAll)
    expect(table.match('a.test', '/')).toBeUndefined()
    expect(table.rejected[0]?.reason).toContain('must be a Strict-Transport-Security value')
  })

  it('keeps empty path elements as they are', () => {
    const { table } = compileRoutes([ingress('a', [rule('r', 'a.test', '/a', 'Prefix', 'a')])], resolveAll)
    expect(table.match('a.test', '//a')).toBeUndefined()
    expect(table.match('a.test', '/a//b')?.route.service).toBe('a')
  })
})
