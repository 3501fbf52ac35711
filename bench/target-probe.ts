/** Checks that a started target forwards the scenario's traffic before the load starts. */
import { connect } from 'node:net'
import { SINK_ACK_BYTES } from './load/load-spec.js'
import type { Scenario } from './scenarios.js'
import { probe } from './targets/processes.js'
import type { BenchContext, RunningTarget } from './targets/target.js'

const TCP_PROBE_TIMEOUT_MS = 10_000

/**
 * Sends `payload` over one TCP connection and resolves once `expectBytes` came back; rejects on
 * an error, an early close or a timeout.
 */
function tcpRoundTrip(port: number, payload: Buffer, expectBytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    let received = 0
    const fail = (err: Error): void => {
      socket.destroy()
      reject(err)
    }
    socket.setTimeout(TCP_PROBE_TIMEOUT_MS, () => fail(new Error(`tcp probe of 127.0.0.1:${port} got ${received} of ${expectBytes} bytes within ${TCP_PROBE_TIMEOUT_MS} ms`)))
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received < expectBytes) return
      socket.destroy()
      resolve()
    })
    socket.on('error', fail)
    socket.on('close', () => {
      if (received < expectBytes) fail(new Error(`tcp probe of 127.0.0.1:${port} closed after ${received} of ${expectBytes} bytes`))
    })
    socket.write(payload)
  })
}

/** Sends the scenario's first request (HTTP, HTTPS) or one exchange (TCP) and fails unless it worked. */
export async function checkRouting(ctx: BenchContext, running: RunningTarget, scenario: Scenario): Promise<void> {
  if (scenario.transport === 'tcp') {
    if (scenario.load === 'tcp-bulk') await tcpRoundTrip(running.port, Buffer.alloc(SINK_ACK_BYTES, 'x'), 1)
    else await tcpRoundTrip(running.port, Buffer.alloc(100, 'p'), 100)
    return
  }
  const first = scenario.requests[0]!
  const body = first.bodyBytes > 0 ? Buffer.alloc(first.bodyBytes, 'x') : undefined
  const tls = scenario.transport === 'https' ? { serverName: ctx.tls.serverName } : undefined
  const reply = await probe(running.port, first.host, first.path, first.method, body, tls)
  if (reply.status < 200 || reply.status > 299) {
    const scheme = tls === undefined ? 'http' : 'https'
    throw new Error(`probe ${first.method} ${scheme}://${first.host}${first.path} returned ${reply.status}: ${reply.body.slice(0, 200)}`)
  }
}
