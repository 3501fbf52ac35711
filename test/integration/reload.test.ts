import { Agent, request as httpRequest } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ingressYaml, send, startGateway, waitFor, type RunningGateway } from '../support/gateway-harness.js'
import { startUpstream, type TestUpstream } from '../support/upstreams.js'

describe('hot reload', () => {
  let gw: RunningGateway
  let blue: TestUpstream
  let green: TestUpstream

  const config = (): string =>
    ['listeners: [{ name: web, address: 127.0.0.1, port: 0 }]', 'rules: [rules]', 'services:', `  blue: { endpoints: [${blue.address}] }`, `  green: { endpoints: [${green.address}] }`].join('\n')

  beforeEach(async () => {
    blue = await startUpstream('blue')
    green = await startUpstream('green')
    gw = await startGateway({
      config: config(),
      dirs: ['rules'],
    })
  })

  afterEach(async () => {
    await gw.stop()
    await blue.close()
    await green.close()
  })

  async function writeRules(name: string, service: string, host = 'app.test'): Promise<void> {
    gw.writeFile(`rules/${name}`, ingressYaml(name.replace(/\..*$/, ''), [{ host, paths: [{ path: '/', type: 'Prefix', service }] }]))
  }

  it('valid edit takes effect', async () => {
    await writeRules('a.yaml', 'blue')
    await waitFor(async () => (await send(gw.port, { host: 'app.test' })).headers['x-upstream'] === 'blue', 5_000, 'blue route')
    await writeRules('a.yaml', 'green')
    await waitFor(async () => (await send(gw.port, { host: 'app.test' })).headers['x-upstream'] === 'green', 5_000, 'green route')
    const applied = gw.lines.filter((l) => l.msg === 'routes applied')
    expect(applied.length).toBeGreaterThanOrEqual(3)
    expect(applied.at(-1)!.generation).toBe(applied.length)
  })

  it('invalid edit keeps serving and logs file and line', async () => {
    await writeRules('a.yaml', 'blue')
    await waitFor(async () => (await send(gw.port, { host: 'app.test' })).status === 200, 5_000, 'first route')
    const broken = ingressYaml('a', [{ host: 'app.test', paths: [{ path: '/', type: 'Prefx', service: 'green' }] }])
    gw.writeFile('rules/a.yaml', broken)
    await waitFor(() => gw.lines.some((l) => String(l.msg).startsWith('rule file rejected')), 5_000, 'rejection log line')
    const rejection = gw.lines.find((l) => String(l.msg).startsWith('rule file rejected'))!
    const problems = rejection.problems as string[]
    expect(rejection.file).toMatch(/rules\/a\.yaml$/)
    expect(problems[0]).toMatch(/a\.yaml:11: spec\.rules\[0\]\.http\.paths\[0\]\.pathType: must be one of Exact, Prefix, ImplementationSpecific/)
    const res = await send(gw.port, { host: 'app.test' })
    expect(res.headers['x-upstream']).toBe('blue')
  })

  it('bad file leaves other files serving', async () => {
    await writeRules('a.yaml', 'blue', 'a.test')
    await writeRules('b.yaml', 'green', 'b.test')
    await waitFor(async () => (await send(gw.port, { host: 'b.test' })).status === 200, 5_000, 'b route')
    gw.writeFile('rules/b.yaml', 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: b }\nspec: [not, a, mapping\n')
    await waitFor(() => gw.lines.some((l) => String(l.msg).startsWith('rule file rejected')), 5_000, 'rejection log line')
    gw.writeFile('rules/c.yaml', ingressYaml('c', [{ host: 'c.test', paths: [{ path: '/', type: 'Prefix', service: 'blue' }] }]))
    await waitFor(async () => (await send(gw.port, { host: 'c.test' })).status === 200, 5_000, 'c route')
    expect((await send(gw.port, { host: 'a.test' })).headers['x-upstream']).toBe('blue')
    expect((await send(gw.port, { host: 'b.test' })).headers['x-upstream']).toBe('green')
  })

  it('applies edits while a neighbour file keeps changing', async () => {
    await writeRules('a.yaml', 'blue')
    await waitFor(async () => (await send(gw.port, { host: 'app.test' })).headers['x-upstream'] === 'blue', 5_000, 'blue route')
    const { appendFileSync } = await import('node:fs')
    const writer = setInterval(() => appendFileSync(`${gw.dir}/rules/access.log`, 'line\n'), 20)
    try {
      await writeRules('a.yaml', 'green')
      await waitFor(async () => (await send(gw.port, { host: 'app.test' })).headers['x-upstream'] === 'green', 3_000, 'green route while the log grows')
    } finally {
      clearInterval(writer)
    }
  })

  it('broken edit under load fails no request', async () => {
    await writeRules('a.yaml', 'blue')
    await waitFor(async () => (await send(gw.port, { host: 'app.test' })).status === 200, 5_000, 'first route')
    const agent = new Agent({ keepAlive: true, maxSockets: 8 })
    const statuses: number[] = []
    let running = true
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 2_000 && running; i++) {
        statuses.push(await new Promise<number>((resolve) => {
          const req = httpRequest({ port: gw.port, host: '127.0.0.1', headers: { host: 'app.test' }, agent }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          req.on('error', () => resolve(-1))
          req.end()
        }))
      }
    }
    const workers = Array.from({ length: 8 }, worker)
    for (let round = 0; round < 6; round++) {
      gw.writeFile('rules/a.yaml', round % 2 === 0 ? 'kind: Ingress\nspec: {{{' : ingressYaml('a', [{ host: 'app.test', paths: [{ path: '/', type: 'Prefix', service: round % 4 === 1 ? 'green' : 'blue' }] }]))
      await new Promise((r) => setTimeout(r, 150))
    }
    running = false
    await Promise.all(workers)
    agent.destroy()
    expect(statuses.length).toBeGreaterThan(100)
    expect(statuses.filter((s) => s !== 200)).toEqual([])
  })
})
