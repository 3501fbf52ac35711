/**
 * TCP load generator process: runs the TcpLoadSpec given as JSON in argv[2], first a warm-up,
 * then the measured run, and prints LoadEvent lines on stdout like the HTTP load worker.
 *
 * `bulk` writes 256 KiB chunks into each connection as fast as the socket drains and counts
 * the sink's acknowledgements (one byte per SINK_ACK_BYTES), so only bytes that reached the
 * sink count. `echo` sends a message, waits until all its bytes came back, and repeats; each
 * round trip counts as one request.
 */
import { connect, type Socket } from 'node:net'
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'
import { SINK_ACK_BYTES, type LoadEvent, type LoadResult, type TcpLoadSpec } from './load-spec.js'

const CHUNK = Buffer.alloc(256 * 1024, 'x')

/** Counters shared by all connections; the phase decides whether they count. */
interface Counters {
  measuring: boolean
  requests: number
  errors: number
  histogram: RecordableHistogram
}

function emit(event: LoadEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true })
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

function runBulk(socket: Socket, counters: Counters, stopped: () => boolean): void {
  socket.on('data', (acks: Buffer) => {
    if (counters.measuring) counters.requests += acks.length
  })
  const pump = (): void => {
    while (!stopped()) {
      if (!socket.write(CHUNK)) {
        socket.once('drain', pump)
        return
      }
    }
  }
  pump()
}

function runEcho(socket: Socket, counters: Counters, messageBytes: number, stopped: () => boolean): void {
  const message = Buffer.alloc(messageBytes, 'p')
  let received = 0
  let sentAt = 0
  const send = (): void => {
    if (stopped()) return
    received = 0
    sentAt = performance.now()
    socket.write(message)
  }
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (received < messageBytes) return
    if (counters.measuring) {
      counters.requests++
      counters.histogram.record(Math.max(1, Math.round((performance.now() - sentAt) * 1000)))
    }
    send()
  })
  send()
}

function toLoadResult(spec: TcpLoadSpec, counters: Counters, durationS: number): LoadResult {
  const ms = (us: number): number => Math.round(us) / 1000
  const h = counters.histogram
  const bulk = spec.mode === 'bulk'
  return {
    durationS,
    requests: counters.requests,
    requestsPerSecond: counters.requests / durationS,
    non2xx: 0,
    errors: counters.errors,
    timeouts: 0,
    latencyMs: bulk
      ? { p50: 0, p99: 0, p999: 0, max: 0, mean: 0 }
      : { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max), mean: ms(h.mean) },
    bytesPerSecond: bulk ? (counters.requests * SINK_ACK_BYTES) / durationS : undefined,
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as TcpLoadSpec
  const counters: Counters = { measuring: false, requests: 0, errors: 0, histogram: createHistogram() }
  let stop = false
  const sockets = await Promise.all(Array.from({ length: spec.connections }, () => open(spec.port)))
  for (const socket of sockets) {
    socket.on('error', () => counters.errors++)
    if (spec.mode === 'bulk') runBulk(socket, counters, () => stop)
    else runEcho(socket, counters, spec.messageBytes, () => stop)
  }
  await new Promise((resolve) => setTimeout(resolve, spec.warmupS * 1000))
  counters.measuring = true
  emit({ event: 'measuring' })
  const startedAt = performance.now()
  let lastTick = 0
  for (let second = 1; second <= spec.durationS; second++) {
    await new Promise((resolve) => setTimeout(resolve, startedAt + second * 1000 - performance.now()))
    emit({ event: 'tick', requests: counters.requests - lastTick })
    lastTick = counters.requests
  }
  counters.measuring = false
  const durationS = (performance.now() - startedAt) / 1000
  stop = true
  emit({ event: 'result', result: toLoadResult(spec, counters, durationS) })
  for (const socket of sockets) socket.destroy()
}

main().catch((err: unknown) => {
  process.stderr.write(`tcp load worker failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
