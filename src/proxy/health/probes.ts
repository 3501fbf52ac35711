import { request } from 'node:http'
import { connect } from 'node:net'

/** Inclusive range of HTTP status codes, such as `[200, 399]`. */
export type StatusRange = readonly [low: number, high: number]

export interface HttpProbeConfig {
  kind: 'http'
  /** Request path, including any query string. */
  path: string
  /** Statuses that count as healthy: one range or a list of ranges. Default `[200, 399]`. */
  expectedStatuses?: StatusRange | readonly StatusRange[]
  /** `Host` header to send; default the endpoint's `host:port`. */
  host?: string
}

export interface TcpProbeConfig {
  kind: 'tcp'
}

export type ProbeConfig = HttpProbeConfig | TcpProbeConfig

/** Address a probe connects to. */
export interface ProbeTarget {
  host: string
  port: number
}

/** Outcome of one probe; `reason` is a short phrase for logs, such as `status 503`. */
export interface ProbeResult {
  ok: boolean
  reason: string
}

/**
 * Runs one probe, which must settle once `signal` aborts. The active checker aborts it at the
 * check timeout and counts the probe as failed whether or not it settles.
 */
export type ProbeFunction = (target: ProbeTarget, signal: AbortSignal) => Promise<ProbeResult>

const DEFAULT_STATUSES: readonly StatusRange[] = [[200, 399]]

/** Returns the probe function for `config`, validating it first. */
export function createProbe(config: ProbeConfig): ProbeFunction {
  if (config.kind === 'tcp') return probeTcp
  const ranges = normalizeStatusRanges(config.expectedStatuses)
  return (target, signal) => probeHttp(target, config, ranges, signal)
}

/**
 * Returns the expected statuses as a list of ranges. Throws a RangeError naming the bad range
 * when a bound is not an integer from 100 to 599 or the low bound exceeds the high one.
 */
export function normalizeStatusRanges(
  statuses: StatusRange | readonly StatusRange[] | undefined,
): readonly StatusRange[] {
  if (statuses === undefined) return DEFAULT_STATUSES
  const ranges = isSingleRange(statuses) ? [statuses] : statuses
  for (const [low, high] of ranges) {
    const isValid = isStatusCode(low) && isStatusCode(high) && low <= high
    if (!isValid) {
      throw new RangeError(
        `invalid expected status range [${low}, ${high}]: ` +
          'use integers from 100 to 599 with low <= high',
      )
    }
  }
  return ranges
}

function isSingleRange(statuses: StatusRange | readonly StatusRange[]): statuses is StatusRange {
  return typeof statuses[0] === 'number'
}

function isStatusCode(value: number): boolean {
  return Number.isInteger(value) && value >= 100 && value <= 599
}

/** Returns whether `status` falls in one of `ranges`. */
export function isExpectedStatus(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some(([low, high]) => status >= low && status <= high)
}

/**
 * Sends one GET over a fresh connection and checks the response status. The body is
 * discarded unread. Never rejects: failures resolve with `ok: false`.
 */
export function probeHttp(
  target: ProbeTarget,
  config: HttpProbeConfig,
  ranges: readonly StatusRange[],
  signal: AbortSignal,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'user-agent': 'portway-health-check' }
    if (config.host !== undefined) headers.host = config.host
    const req = request({
      host: target.host,
      port: target.port,
      path: config.path,
      method: 'GET',
      headers,
      agent: false,
      signal,
    })
    req.once('response', (res) => {
      const status = res.statusCode ?? 0
      res.resume()
      req.destroy()
      resolve({ ok: isExpectedStatus(status, ranges), reason: `status ${status}` })
    })
    req.once('error', (err: NodeJS.ErrnoException) => {
      resolve({ ok: false, reason: describeFailure('request', err, signal) })
    })
    req.end()
  })
}

/** Opens a TCP connection and closes it at once. Failures resolve with `ok: false`. */
export function probeTcp(target: ProbeTarget, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, signal })
    socket.once('connect', () => {
      socket.destroy()
      resolve({ ok: true, reason: 'connected' })
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy()
      resolve({ ok: false, reason: describeFailure('connect', err, signal) })
    })
  })
}

function describeFailure(
  step: 'connect' | 'request',
  err: NodeJS.ErrnoException,
  signal: AbortSignal,
): string {
  if (signal.aborted) return 'timed out'
  return `${step} failed: ${err.code ?? err.message}`
}
