import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ingressYaml, send, startGateway, type RunningGateway } from '../support/gateway-harness.js'
import { startUpstream, type TestUpstream } from '../support/upstreams.js'

type Rule = [path: string, type: 'Exact' | 'Prefix']

/**
 * The Kubernetes documentation's path examples and the conformance suite's path vectors.
 * Each row gets its own host, so one gateway serves the whole table. `winner` is the rule
 * path (with its type) that must answer, or undefined for 404.
 */
const ROWS: Array<{ id: string; rules: Rule[]; request: string; winner?: Rule }> = [
  { id: 'k1', rules: [['/', 'Prefix']], request: '/', winner: ['/', 'Prefix'] },
  { id: 'k2', rules: [['/', 'Prefix']], request: '/anything/at/all', winner: ['/', 'Prefix'] },
  { id: 'k3', rules: [['/foo', 'Exact']], request: '/foo', winner: ['/foo', 'Exact'] },
  { id: 'k4', rules: [['/foo', 'Exact']], request: '/bar' },
  { id: 'k5', rules: [['/foo', 'Exact']], request: '/foo/' },
  { id: 'k6', rules: [['/foo/', 'Exact']], request: '/foo' },
  { id: 'k7', rules: [['/foo', 'Prefix']], request: '/foo', winner: ['/foo', 'Prefix'] },
  { id: 'k8', rules: [['/foo', 'Prefix']], request: '/foo/', winner: ['/foo', 'Prefix'] },
  { id: 'k9', rules: [['/foo/', 'Prefix']], request: '/foo', winner: ['/foo/', 'Prefix'] },
  { id: 'k10', rules: [['/foo/', 'Prefix']], request: '/foo/', winner: ['/foo/', 'Prefix'] },
  { id: 'k11', rules: [['/aaa/bb', 'Prefix']], request: '/aaa/bbb' },
  { id: 'k12', rules: [['/aaa/bbb', 'Prefix']], request: '/aaa/bbb', winner: ['/aaa/bbb', 'Prefix'] },
  { id: 'k13', rules: [['/aaa/bbb/', 'Prefix']], request: '/aaa/bbb', winner: ['/aaa/bbb/', 'Prefix'] },
  { id: 'k14', rules: [['/aaa/bbb', 'Prefix']], request: '/aaa/bbb/', winner: ['/aaa/bbb', 'Prefix'] },
  { id: 'k15', rules: [['/aaa/bbb', 'Prefix']], request: '/aaa/bbb/ccc', winner: ['/aaa/bbb', 'Prefix'] },
  { id: 'k16', rules: [['/aaa/bbb', 'Prefix']], request: '/aaa/bbbxyz' },
  { id: 'k17', rules: [['/', 'Prefix'], ['/aaa', 'Prefix']], request: '/aaa/ccc', winner: ['/aaa', 'Prefix'] },
  { id: 'k18', rules: [['/', 'Prefix'], ['/aaa', 'Prefix'], ['/aaa/bbb', 'Prefix']], request: '/aaa/bbb', winner: ['/aaa/bbb', 'Prefix'] },
  { id: 'k19', rules: [['/', 'Prefix'], ['/aaa', 'Prefix'], ['/aaa/bbb', 'Prefix']], request: '/ccc', winner: ['/', 'Prefix'] },
  { id: 'k20', rules: [['/aaa', 'Prefix']], request: '/ccc' },
  { id: 'k21', rules: [['/foo', 'Prefix'], ['/foo', 'Exact']], request: '/foo', winner: ['/foo', 'Exact'] },
  { id: 'c1', rules: [['/foo', 'Exact']], request: '/FOO' },
  { id: 'c2', rules: [['/foo', 'Prefix']], request: '/FOO' },
  { id: 'c3', rules: [['/aaa/bbb', 'Prefix'], ['/aaa', 'Prefix']], request: '/aaa/bbb', winner: ['/aaa/bbb', 'Prefix'] },
  { id: 'c4', rules: [['/aaa/bbb', 'Prefix'], ['/aaa', 'Prefix']], request: '/aaa/bbb/ccc', winner: ['/aaa/bbb', 'Prefix'] },
  { id: 'c5', rules: [['/aaa/bbb', 'Prefix'], ['/aaa', 'Prefix']], request: '/aaa/ccc', winner: ['/aaa', 'Prefix'] },
  { id: 'c6', rules: [['/aaa', 'Prefix'], ['/foo', 'Prefix'], ['/aaa/bbb', 'Prefix']], request: '/aaaccc' },
  { id: 'c7', rules: [['/aaa/bbb/', 'Prefix'], ['/foo/', 'Exact']], request: '/aaa/bbb/', winner: ['/aaa/bbb/', 'Prefix'] },
  { id: 'c8', rules: [['/foo/', 'Exact'], ['/aaa/bbb/', 'Prefix']], request: '/foo' },
  { id: 'c9', rules: [['/foo', 'Exact']], request: '/foo/' },
]

/** Service names are DNS labels, so each distinct rule gets a numbered service. */
function serviceFor(rule: Rule, names: Map<string, string>): string {
  const key = `${rule[1]} ${rule[0]}`
  let name = names.get(key)
  if (name === undefined) {
    name = `svc-${names.size}`
    names.set(key, name)
  }
  return name
}

for (const engine of ['undici', 'http-proxy'] as const) {
  describe(`Ingress path matching (${engine})`, () => {
    let gw: RunningGateway
    const upstreams = new Map<string, TestUpstream>()
    const names = new Map<string, string>()

    beforeAll(async () => {
      const docs = ROWS.map((row) =>
        ingressYaml(row.id, [{ host: `${row.id}.example.test`, paths: row.rules.map(([path, type]) => ({ path, type, service: serviceFor([path, type], names) })) }]),
      )
      for (const name of names.values()) upstreams.set(name, await startUpstream(name))
      const services = [...upstreams.values()].map((u) => `  ${u.name}:\n    endpoints: [${u.address}]`).join('\n')
      gw = await startGateway({
        config: `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]\nproxy: { engine: ${engine} }\nrules: [rules.yaml]\nservices:\n${services}\n`,
        files: { 'rules.yaml': docs.join('---\n') },
      })
    })

    afterAll(async () => {
      await gw.stop()
      for (const u of upstreams.values()) await u.close()
    })

    it.each(ROWS)('$id: $request', async (row) => {
      const res = await send(gw.port, { host: `${row.id}.example.test`, path: row.request })
      if (row.winner === undefined) {
        expect(res.status).toBe(404)
        expect(res.headers['x-portway-error']).toBe('GW_ROUTE_NOT_FOUND')
        return
      }
      expect(res.status).toBe(200)
      expect(res.headers['x-upstream']).toBe(serviceFor(row.winner, names))
    })
  })
}
