import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../../src/config/load-config.js'
import { formatProblem } from '../../../src/errors.js'

function problemsOf(text: string): string[] {
  const result = parseConfig('/etc/portway/gateway.yaml', text, '/etc/portway')
  return result.ok ? [] : result.problems.map(formatProblem)
}

describe('gateway config validation', () => {
  it('accepts a minimal config with defaults', () => {
    const result = parseConfig('/c/g.yaml', 'listeners: [{ port: 8080 }]\n', '/c')
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.config.listeners[0]).toMatchObject({ address: '0.0.0.0', port: 8080, protocol: 'http', name: 'http-8080' })
    expect(result.config.proxy.engine).toBe('undici')
    expect(result.config.timeouts.connectMs).toBe(5_000)
    expect(result.config.dataDir).toBe('/c/data')
  })

  it('reports every problem at once with file, line and path', () => {
    const problems = problemsOf([
      'listeners:',
      '  - name: web',
      '    port: 99999',
      '    protocol: htp',
      'services:',
      '  Shop:',
      '    endpoints: [localhost]',
      'timeouts:',
      '  connectMs: -5',
      'logging: { levle: debug }',
    ].join('\n'))
    expect(problems).toEqual([
      '/etc/portway/gateway.yaml:3: listeners[0].port: must be an integer from 0 to 65535, got 99999',
      '/etc/portway/gateway.yaml:4: listeners[0].protocol: must be one of http, https, tcp, tls-passthrough, got "htp"',
      '/etc/portway/gateway.yaml:7: services.Shop: service name "Shop" must be lowercase letters, digits and \'-\' (at most 63)',
      '/etc/portway/gateway.yaml:7: services.Shop.endpoints[0]: "localhost" is not host:port (use 127.0.0.1:8080 or [::1]:8080)',
      '/etc/portway/gateway.yaml:9: timeouts.connectMs: must be an integer from 1 to 3600000, got -5',
      '/etc/portway/gateway.yaml:10: logging.levle: is not a known field (known: level, destination, asyncWrites, access)',
    ])
  })

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf('listeners:\n  - port: 80\n bad: [\n')
    expect(problems.length).toBeGreaterThan(0)
    expect(problems[0]).toMatch(/^\/etc\/portway\/gateway\.yaml:\d+: invalid YAML/)
  })

  it('rejects a tcp listener without a service', () => {
    expect(problemsOf('listeners: [{ port: 5432, protocol: tcp }]')).toEqual([
      '/etc/portway/gateway.yaml:1: listeners[0].service: is required for a tcp listener',
    ])
  })

  it('rejects a listener naming an unknown service without consul', () => {
    expect(problemsOf('listeners: [{ port: 5432, protocol: tcp, service: db }]')[0]).toContain('service "db" is not defined under services')
  })

  it('rejects two listeners on one address', () => {
    expect(problemsOf('listeners: [{ port: 80, name: a }, { port: 80, name: b }]')[0]).toContain('0.0.0.0:80 is already used by listeners[0]')
  })

  it('rejects ALPN protocols the listener cannot speak', () => {
    expect(problemsOf('listeners: [{ port: 443, address: 127.0.0.1, protocol: https, tls: { alpn: [h2, http/1.1] } }]')).toEqual([
      '/etc/portway/gateway.yaml:1: listeners[0].tls.alpn[0]: must be one of http/1.1, http/1.0, got "h2"',
    ])
  })

  it('rejects a listener address that is not an IP', () => {
    expect(problemsOf('listeners: [{ port: 80, address: not-an-ip }]')).toEqual([
      '/etc/portway/gateway.yaml:1: listeners[0].address: "not-an-ip" is not an IP address; use 0.0.0.0, 127.0.0.1, :: or another local address',
    ])
  })

  it('parses IPv6 endpoints and weights', () => {
    const result = parseConfig('/c/g.yaml', 'listeners: [{ port: 80 }]\nservices:\n  web:\n    endpoints: ["[::1]:9000", { address: 127.0.0.1:9001, weight: 5 }]\n', '/c')
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.config.services.get('web')?.endpoints).toEqual([
      { host: '::1', port: 9000, weight: 1 },
      { host: '127.0.0.1', port: 9001, weight: 5 },
    ])
  })
})
