import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { AccessRecord, DataPlane } from '../proxy/http-handler.js'

/** Open downstream connections of one listener, for `portway_open_connections`. */
export interface ListenerConnections {
  listener: string
  connections: number
}

export interface GatewayMetricsOptions {
  /**
   * Current routing generation, read at scrape time for the route and endpoint gauges. A
   * function, because the gateway is usually built after its metrics (it takes `observe`).
   */
  dataPlane?: () => DataPlane | undefined
  /** Open connections per listener, read at scrape time. */
  openConnections?: () => Iterable<ListenerConnections>
  /** Adds Node.js process metrics (CPU, memory, event loop, GC). Default true. */
  defaultMetrics?: boolean
}

/** Result of a routing reload, the `result` label of `portway_route_reloads_total`. */
export type ReloadResult = 'applied' | 'rejected'

/** Upper bounds in seconds of the latency histograms' buckets. */
export const LATENCY_BUCKETS_SECONDS = Object.freeze([
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
])

const REQUEST_LABELS = ['listener', 'route', 'service', 'status_class', 'code'] as const

interface RequestSeries {
  route: string
  labels: string[]
  requests: Counter.Internal
  duration: Histogram.Internal<'listener' | 'route'>
}

/**
 * Prometheus metrics of one gateway, in a registry of their own (never prom-client's global
 * one), so tests and several gateways in one process do not share series.
 *
 * `observe` runs once per finished request and looks up its label children in a Map, so a
 * request after the first of its kind only builds one short key and bumps two values. Gauges
 * that describe current state are computed in `collect` callbacks at scrape time.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly #options: GatewayMetricsOptions
  readonly #requests: Counter<(typeof REQUEST_LABELS)[number]>
  readonly #duration: Histogram<'listener' | 'route'>
  readonly #upstream: Histogram<'service'>
  readonly #reloads: Counter<'result'>
  readonly #series = new Map<string, RequestSeries>()
  readonly #upstreamSeries = new Map<string, Histogram.Internal<'service'>>()

  constructor(options: GatewayMetricsOptions = {}) {
    this.#options = options
    const registers = [this.registry]
    this.#requests = new Counter({
      name: 'portway_requests_total',
      help: 'Finished downstream requests by listener, route, service, status class and status code.',
      labelNames: REQUEST_LABELS,
      registers,
    })
    this.#duration = new Histogram({
      name: 'portway_request_duration_seconds',
      help: 'Time from receiving a downstream request to finishing its response, in seconds.',
      labelNames: ['listener', 'route'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    })
    this.#upstream = new Histogram({
      name: 'portway_upstream_response_seconds',
      help: 'Time from sending a request upstream to receiving its response headers, in seconds, by service.',
      labelNames: ['service'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    })
    this.#reloads = new Counter({
      name: 'portway_route_reloads_total',
      help: 'Routing reloads by result: applied (a new generation) or rejected (last good kept).',
      labelNames: ['result'],
      registers,
    })
    this.#reloads.labels('applied').inc(0)
    this.#reloads.labels('rejected').inc(0)
    this.#registerGauges(registers)
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** Counts one finished request. Pass it as the gateway's `onRecord` option. */
  readonly observe = (record: AccessRecord): void => {
    const route = record.route ?? ''
    const service = record.service ?? ''
    const key = `${record.listener}\n${route}\n${service}\n${record.status}`
    let series = this.#series.get(key)
    if (series === undefined) {
      series = this.#createSeries(key, record.listener, route, service, record.status)
    }
    series.requests.inc()
    series.duration.observe(record.totalMs / 1000)
    if (record.upstreamMs !== undefined && service !== '') {
      let upstream = this.#upstreamSeries.get(service)
      if (upstream === undefined) {
        upstream = this.#upstream.labels(service)
        this.#upstreamSeries.set(service, upstream)
      }
      upstream.observe(record.upstreamMs / 1000)
    }
  }

  /**
   * Counts a routing reload. After an applied reload, the series of routes and services that
   * the new generation no longer has are dropped, so reloads do not grow the series count.
   */
  onReload(result: ReloadResult): void {
    this.#reloads.labels(result).inc()
    if (result === 'applied') this.#pruneSeries()
  }

  /** Renders every metric in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  #createSeries(
    key: string,
    listener: string,
    route: string,
    service: string,
    status: number,
  ): RequestSeries {
    const labels = [listener, route, service, `${Math.floor(status / 100)}xx`, String(status)]
    const series: RequestSeries = {
      route,
      labels,
      requests: this.#requests.labels(...labels),
      duration: this.#duration.labels(listener, route),
    }
    this.#series.set(key, series)
    return series
  }

  #pruneSeries(): void {
    const dataPlane = this.#options.dataPlane?.()
    if (dataPlane === undefined) return

    const routes = new Set(dataPlane.table.routes.map((r) => r.name))
    for (const [key, series] of this.#series) {
      if (series.route === '' || routes.has(series.route)) continue
      this.#requests.remove(...series.labels)
      this.#duration.remove(series.labels[0]!, series.route)
      this.#series.delete(key)
    }
    for (const service of [...this.#upstreamSeries.keys()]) {
      if (dataPlane.registry.get(service) !== undefined) continue
      this.#upstream.remove(service)
      this.#upstreamSeries.delete(service)
    }
  }

  #registerGauges(registers: Registry[]): void {
    const options = this.#options
    const openConnections: Gauge<'listener'> = new Gauge({
      name: 'portway_open_connections',
      help: 'Open downstream connections by listener.',
      labelNames: ['listener'],
      registers,
      collect() {
        openConnections.reset()
        for (const entry of options.openConnections?.() ?? []) {
          openConnections.labels(entry.listener).set(entry.connections)
        }
      },
    })
    const available: Gauge<'service' | 'endpoint'> = new Gauge({
      name: 'portway_endpoint_available',
      // Across worker processes an endpoint counts as available only if every worker has it in rotation.
      aggregator: 'min',
      help: 'Whether an endpoint can receive new requests (1) or not (0), by service and endpoint id.',
      labelNames: ['service', 'endpoint'],
      registers,
      collect() {
        available.reset()
        const dataPlane = options.dataPlane?.()
        if (dataPlane === undefined) return
        for (const pool of dataPlane.registry.pools()) {
          for (const ep of pool.endpoints) {
            available.labels(pool.key, ep.id).set(ep.available ? 1 : 0)
          }
        }
      },
    })
    const routes: Gauge = new Gauge({
      name: 'portway_routes',
      // Every worker serves the same table; summing would multiply it by the worker count.
      aggregator: 'max',
      help: 'Routes in the current routing generation.',
      registers,
      collect() {
        routes.set(options.dataPlane?.()?.table.size ?? 0)
      },
    })
  }
}
