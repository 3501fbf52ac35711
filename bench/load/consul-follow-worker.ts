/**
 * Consul side of the consul-follow scenario, in one process: a Consul double with
 * SERVICE_COUNT services, two marker upstreams whose response body names the one that answered, and a prober
 * that sends requests through the gateway until it sees the effect of each Consul write.
 *
 * Protocol: prints `{"event":"ready","address":...}` once the double listens, then reads
 * commands from stdin (one JSON object per line) and answers each with one event line:
 * - `follow`: times CHANGES registrations (services 0 to CHANGES-1) and CHANGES checks
 *   turning critical (the next CHANGES services, which start with two instances), each on its
 *   own service, and prints `follow-result` with the delays in ms (null for a timeout).
 * - `churn`: prints `churn-started`, writes `changesPerSecond` registrations per second on
 *   services nobody requests for `durationS`, then prints `churn-done`.
 * Every measured service changes once: the gateway's blocking-query loop allows a burst of 2
 * requests per service and then one per 15 s, so a second change soon after a first would
 * measure that limit instead of the time to follow.
 * Usage: node dist/bench/load/consul-follow-worker.js SERVICE_COUNT CHANGES
 */
import { Agent, createServer, request, type Server } from 'node:http'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConsulDouble } from '../../test/support/consul-double.js'
import { consulHost, consulService } from '../scenarios.js'

export type FollowCommand =
  | { command: 'follow'; gatewayPort: number }
  | { command: 'churn'; durationS: number; changesPerSecond: number; firstService: number }

export type FollowEvent =
  | { event: 'ready'; address: string }
  | { event: 'follow-result'; register: Array<number | null>; critical: Array<number | null> }
  | { event: 'churn-started' }
  | { event: 'churn-done'; changes: number }

/** Give up on one change after this long; the gateway has not followed it. */
const CHANGE_TIMEOUT_MS = 20_000
/** Wait this long for the gateway to route every service after it started. */
const READY_TIMEOUT_MS = 60_000
/** Consecutive responses from the surviving instance that end a critical-check measurement. */
const SURVIVOR_RUN = 20

type Marker = 'A' | 'B'

function emit(event: FollowEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

function startMarker(name: Marker): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1' })
    res.end(name)
  })
  server.keepAliveTimeout = 120_000
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve({ server, port: typeof address === 'object' && address !== null ? address.port : 0 })
    })
  })
}

function instance(i: number, marker: Marker, port: number, status: 'passing' | 'critical'): Record<string, unknown> {
  const id = `${consulService(i)}-${marker}`
  return { ID: id, Name: consulService(i), Address: '127.0.0.1', Port: port, Check: { CheckID: id, TTL: '24h', Status: status } }
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 })

/** Sends one GET for service `i` through the gateway; returns the body, or the status for a non-200. */
function get(gatewayPort: number, i: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path: '/', headers: { host: consulHost(i) }, agent }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve(res.statusCode === 200 ? body : String(res.statusCode)))
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`no reply for ${consulHost(i)} within 10 s`)))
    req.on('error', reject)
    req.end()
  })
}

async function waitForRoutes(gatewayPort: number, services: number): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS
  for (let i = 0; i < services; i++) {
    while ((await get(gatewayPort, i)) !== 'A') {
      if (performance.now() > deadline) throw new Error(`gateway does not route ${consulHost(i)} to its Consul instance after ${READY_TIMEOUT_MS} ms`)
      await sleep(50)
    }
  }
}

/** Registers instance B of service `i`; returns ms until the first response from B. */
async function timeRegister(double: ConsulDouble, gatewayPort: number, i: number, portB: number): Promise<number | null> {
  const t0 = performance.now()
  double.register(instance(i, 'B', portB, 'passing'))
  while (performance.now() - t0 < CHANGE_TIMEOUT_MS) {
    if ((await get(gatewayPort, i)) === 'B') return performance.now() - t0
  }
  return null
}

/**
 * Turns instance A of service `i` critical while B stays passing. Returns ms until the first
 * of SURVIVOR_RUN consecutive responses from B, which is the first request routed without A.
 */
async function timeCritical(double: ConsulDouble, gatewayPort: number, i: number): Promise<number | null> {
  const t0 = performance.now()
  double.setCheckStatus(`${consulService(i)}-A`, 'critical')
  let runStart = 0
  let run = 0
  while (performance.now() - t0 < CHANGE_TIMEOUT_MS) {
    const body = await get(gatewayPort, i)
    const at = performance.now()
    if (body !== 'B') {
      run = 0
      continue
    }
    if (run === 0) runStart = at
    if (++run >= SURVIVOR_RUN) return runStart - t0
  }
  return null
}

async function follow(double: ConsulDouble, gatewayPort: number, changes: number, portB: number, services: number): Promise<void> {
  await waitForRoutes(gatewayPort, services)
  const register: Array<number | null> = []
  const critical: Array<number | null> = []
  for (let k = 0; k < changes; k++) register.push(await timeRegister(double, gatewayPort, k, portB))
  for (let k = 0; k < changes; k++) critical.push(await timeCritical(double, gatewayPort, changes + k))
  emit({ event: 'follow-result', register, critical })
}

async function churn(double: ConsulDouble, command: Extract<FollowCommand, { command: 'churn' }>, portB: number): Promise<void> {
  emit({ event: 'churn-started' })
  const startedAt = performance.now()
  const total = Math.round(command.durationS * command.changesPerSecond)
  for (let k = 0; k < total; k++) {
    await sleep(startedAt + (k * 1000) / command.changesPerSecond - performance.now())
    double.register(instance(command.firstService + k, 'B', portB, 'passing'))
  }
  await sleep(startedAt + command.durationS * 1000 - performance.now())
  emit({ event: 'churn-done', changes: total })
}

async function main(): Promise<void> {
  const services = Number(process.argv[2] ?? '0')
  const changes = Number(process.argv[3] ?? '0')
  if (services < 2 * changes) throw new Error(`${services} services cannot hold ${changes} changes of each kind; pass at least ${2 * changes}`)
  const a = await startMarker('A')
  const b = await startMarker('B')
  const double = await ConsulDouble.start()
  for (let i = 0; i < services; i++) double.register(instance(i, 'A', a.port, 'passing'))
  // The critical-check services start with a second instance, so the gateway reads both at startup.
  for (let k = 0; k < changes; k++) double.register(instance(changes + k, 'B', b.port, 'passing'))
  emit({ event: 'ready', address: double.address })
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    const command = JSON.parse(line) as FollowCommand
    if (command.command === 'follow') {
      await follow(double, command.gatewayPort, changes, b.port, services)
    } else {
      await churn(double, command, b.port)
    }
  }
  await double.stop()
  a.server.close()
  b.server.close()
  agent.destroy()
}

main().catch((err: unknown) => {
  process.stderr.write(`consul follow worker failed: ${(err as Error).stack ?? String(err)}\n`)
  // The open stdin keeps the process alive, so exit and let the harness detect the failure at once.
  process.exit(1)
})
