/**
 * Load generator process: runs autocannon with the LoadSpec given as JSON in argv[2], first a
 * warm-up, then the measured run, and prints LoadEvent lines on stdout. It runs apart from the
 * harness so that the harness's own work does not slow the load down.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'
import autocannon, { type AutocannonClient, type AutocannonRequest, type AutocannonResult } from 'autocannon'
import type { LoadEvent, LoadResult, LoadSpec } from './load-spec.js'

function emit(event: LoadEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

function buildRequests(spec: LoadSpec): AutocannonRequest[] {
  return spec.requests.map((r) => {
    const headers: Record<string, string> = { host: r.host }
    if (spec.closeEachRequest) headers.connection = 'close'
    if (r.bodyBytes > 0) {
      headers['content-type'] = 'application/octet-stream'
      return { method: r.method, path: r.path, headers, body: 'x'.repeat(r.bodyBytes) }
    }
    return { method: r.method, path: r.path, headers }
  })
}

/**
 * Makes a client send its next request only on a new connection after the server closed the
 * last one. Without this, autocannon 8 writes the next request into the closing socket, gets a
 * reset and opens a second connection for the same client.
 */
function sendOnFreshConnection(client: AutocannonClient): void {
  let closing = false
  const doRequest = client._doRequest.bind(client)
  const connect = client._connect.bind(client)
  client.on('headers', (info: { shouldKeepAlive?: boolean }) => {
    if (info.shouldKeepAlive === false) closing = true
  })
  client._doRequest = () => {
    if (!closing) doRequest()
  }
  client._connect = () => {
    closing = false
    connect()
  }
}

function runOnce(spec: LoadSpec, durationS: number, histogram?: RecordableHistogram): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        // autocannon opens every TLS connection with a plain tls.connect and no saved session,
        // so a new connection is always a full handshake.
        ...(spec.tls === undefined ? {} : { servername: spec.tls.serverName }),
        connections: spec.connections,
        duration: durationS,
        timeout: 10,
        requests: buildRequests(spec),
        setupClient: (client) => {
          if (spec.closeEachRequest) sendOnFreshConnection(client)
          if (histogram === undefined) return
          client.on('response', (_status: number, _bytes: number, durationMs: number) => {
            histogram.record(Math.max(1, Math.round(durationMs * 1000)))
          })
        },
      },
      (err, result) => (err === null ? resolve(result) : reject(err)),
    )
    if (histogram !== undefined) {
      instance.on('tick', (counter: { counter: number }) => emit({ event: 'tick', requests: counter.counter }))
    }
  })
}

function toLoadResult(raw: AutocannonResult, histogram: RecordableHistogram): LoadResult {
  const ms = (us: number): number => Math.round(us) / 1000
  return {
    durationS: raw.duration,
    requests: raw.requests.total,
    requestsPerSecond: raw.requests.total / raw.duration,
    non2xx: raw.non2xx,
    errors: raw.errors,
    timeouts: raw.timeouts,
    latencyMs: {
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      p999: ms(histogram.percentile(99.9)),
      max: ms(histogram.max),
      mean: ms(histogram.mean),
    },
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec
  if (spec.warmupS > 0) await runOnce(spec, spec.warmupS)
  const histogram = createHistogram()
  emit({ event: 'measuring' })
  const raw = await runOnce(spec, spec.durationS, histogram)
  emit({ event: 'result', result: toLoadResult(raw, histogram) })
}

main().catch((err: unknown) => {
  process.stderr.write(`load worker failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
