import { describe, expect, it } from 'vitest'
import { formatProblem } from '../../../src/errors.js'
import { invalidHostReason, invalidPathReason, parseRuleFile } from '../../../src/ingress/parse-ingress.js'

const policy = { className: 'portway', defaultClass: true }

function ingress(spec: string, meta = ''): string {
  return `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: shop\n${meta}spec:\n${spec}`
}

describe('Ingress rule file parsing', () => {
  it('accepts rules, tls and defaultBackend', () => {
    const parsed = parseRuleFile('r.yaml', ingress([
      '  defaultBackend: { service: { name: fallback, port: { number: 80 } } }',
      '  tls: [{ hosts: [shop.example.test], secretName: shop-tls }]',
      '  rules:',
      '    - host: shop.example.test',
      '      http:',
      '        paths:',
      '          - { path: /api, pathType: Prefix, backend: { service: { name: api, port: { name: http } } } }',
    ].join('\n')), policy)
    expect(parsed.problems).toEqual([])
    const ing = parsed.ingresses[0]!
    expect(ing.name).toBe('default/shop')
    expect(ing.rules[0]).toMatchObject({ id: 'default/shop#0.0', host: 'shop.example.test', path: '/api', pathType: 'Prefix', backend: { service: 'api', portName: 'http' } })
    expect(ing.rules[0]?.line).toBe(12)
    expect(ing.defaultBackend).toEqual({ service: 'fallback', portNumber: 80 })
    expect(ing.tls).toEqual([{ hosts: ['shop.example.test'], secretName: 'shop-tls' }])
  })

  it('reports each invalid field with its line', () => {
    const parsed = parseRuleFile('r.yaml', ingress([
      '  rules:',
      '    - host: Shop.Example.Test',
      '      http:',
      '        paths:',
      '          - path: /a//b',
      '            pathType: Prefix',
      '            backend: { service: { name: Api_1, port: { number: 80, name: http } } }',
      '          - path: /c',
      '            backend: { resource: { kind: Bucket, name: b } }',
    ].join('\n')), policy)
    expect(parsed.problems.map(formatProblem)).toEqual([
      'r.yaml:7: spec.rules[0].host: "Shop.Example.Test" must be lower-case',
      'r.yaml:10: spec.rules[0].http.paths[0].path: "/a//b" must not contain "//"',
      'r.yaml:12: spec.rules[0].http.paths[0].backend.service.name: "Api_1" must be a DNS-1035 label (lower-case letters, digits and \'-\', starting with a letter, at most 63)',
      'r.yaml:12: spec.rules[0].http.paths[0].backend.service.port: needs exactly one of number or name',
      'r.yaml:13: spec.rules[0].http.paths[1].pathType: is required (Exact, Prefix, ImplementationSpecific)',
      'r.yaml:14: spec.rules[0].http.paths[1].backend.resource: resource backends are not supported; name a service',
    ])
  })

  it('skips an Ingress of another class with a reason', () => {
    const parsed = parseRuleFile('r.yaml', ingress('  ingressClassName: nginx\n  defaultBackend: { service: { name: a, port: { number: 1 } } }\n'), policy)
    expect(parsed.ingresses).toEqual([])
    expect(parsed.skipped[0]?.reason).toBe('its ingress class is "nginx", not "portway"')
  })

  it('class annotation takes precedence over the field', () => {
    const text = ingress('  ingressClassName: nginx\n  defaultBackend: { service: { name: a, port: { number: 1 } } }\n', '  annotations: { kubernetes.io/ingress.class: portway }\n')
    expect(parseRuleFile('r.yaml', text, policy).ingresses).toHaveLength(1)
  })

  it('skips a classless Ingress unless default class', () => {
    const text = ingress('  defaultBackend: { service: { name: a, port: { number: 1 } } }\n')
    expect(parseRuleFile('r.yaml', text, { className: 'portway', defaultClass: false }).skipped).toHaveLength(1)
    expect(parseRuleFile('r.yaml', text, policy).ingresses).toHaveLength(1)
  })

  it('rejects other kinds and API versions', () => {
    const parsed = parseRuleFile('r.yaml', 'apiVersion: v1\nkind: Service\nmetadata: { name: x }\n---\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: { name: y }\n', policy)
    expect(parsed.problems.map((p) => p.message)).toEqual([
      'document 1 has kind "Service"; a rule file holds only kind: Ingress',
      'must be networking.k8s.io/v1, got "extensions/v1beta1"',
    ])
    expect(parsed.problems[1]?.line).toBe(5)
  })

  it.each([
    ['foo.bar.com', undefined],
    ['*.foo.com', undefined],
    ['*', 'bare wildcard'],
    ['foo.*.com', 'invalid label "*"'],
    ['10.0.0.1', 'IP address'],
    ['foo.com:80', 'port'],
    ['foo.com.', 'trailing'],
  ])('host %s', (host, reason) => {
    const got = invalidHostReason(host)
    if (reason === undefined) expect(got).toBeUndefined()
    else expect(got).toContain(reason === 'trailing' ? 'must not end with a dot' : reason)
  })

  it.each([
    ['/ok/path', undefined],
    ['relative', 'must begin with "/"'],
    ['/a/./b', '"/./"'],
    ['/a/../b', '"/../"'],
    ['/a%2Fb', '"%2F"'],
    ['/a/..', 'must not end'],
  ])('path %s', (path, reason) => {
    const got = invalidPathReason(path)
    if (reason === undefined) expect(got).toBeUndefined()
    else expect(got).toContain(reason)
  })
})

describe('Ingress rule file strictness', () => {
  it('reports unknown fields at every level', () => {
    const parsed = parseRuleFile('r.yaml', ingress([
      '  rules:',
      '    - hots: a.test',
      '      http:',
      '        paths:',
      '          - path: /',
      '            pathType: Prefix',
      '            backend: { service: { name: api, port: { number: 80 }, extra: 1 } }',
    ].join('\n')), policy)
    expect(parsed.problems.map((p) => p.path)).toEqual(['spec.rules[0].hots', 'spec.rules[0].http.paths[0].backend.service.extra'])
  })

  it('requires a port on a service backend', () => {
    const parsed = parseRuleFile('r.yaml', ingress('  defaultBackend: { service: { name: api } }\n'), policy)
    expect(parsed.problems.map(formatProblem)).toEqual(['r.yaml:6: spec.defaultBackend.service.port: is required'])
  })

  it('accepts the metadata kubectl writes', () => {
    const meta = '  uid: 0f3c\n  resourceVersion: "12"\n  generation: 2\n  creationTimestamp: "2026-01-01T00:00:00Z"\n  labels: { app: shop }\n'
    const parsed = parseRuleFile('r.yaml', ingress('  defaultBackend: { service: { name: api, port: { number: 80 } } }\n', meta) + 'status: { loadBalancer: {} }\n', policy)
    expect(parsed.problems).toEqual([])
  })

  it('rejects an empty file', () => {
    expect(parseRuleFile('r.yaml', '', policy).problems.map((p) => p.message)).toEqual(['the file has no YAML document; delete the file to remove its rules'])
    expect(parseRuleFile('r.yaml', '# only a comment\n', policy).problems).toHaveLength(1)
  })
})
