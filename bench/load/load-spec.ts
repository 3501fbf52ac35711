/** What one load run sends; passed as JSON from the harness to the load worker process. */
export interface LoadSpec {
  url: string
  connections: number
  warmupS: number
  durationS: number
  requests: LoadRequest[]
  /**
   * Send `connection: close` and open a new connection for every request. The worker waits
   * for the server to close the old connection before it sends the next request.
   */
  closeEachRequest: boolean
  /** For https URLs: the SNI name to send. The certificate is not verified. */
  tls?: { serverName: string }
}

/** The TCP sink sends one byte back per this many bytes received. */
export const SINK_ACK_BYTES = 16 * 1024 * 1024

/** What one TCP load run sends; passed as JSON to the TCP load worker. */
export interface TcpLoadSpec {
  port: number
  connections: number
  warmupS: number
  durationS: number
  /** `bulk` writes into the sink as fast as it drains; `echo` sends a message and waits for it. */
  mode: 'bulk' | 'echo'
  /** Size of each echo message. */
  messageBytes: number
}

export interface LoadRequest {
  method: string
  path: string
  host: string
  /** Size of a request body made of ASCII letters; 0 sends none. */
  bodyBytes: number
}

/** One line the worker prints on stdout, as JSON. */
export type LoadEvent =
  | { event: 'measuring' }
  | { event: 'tick'; requests: number }
  | { event: 'result'; result: LoadResult }

export interface LoadResult {
  durationS: number
  requests: number
  requestsPerSecond: number
  /** Responses with a status outside 200-299. */
  non2xx: number
  /** Connection errors and request timeouts. */
  errors: number
  timeouts: number
  /** Latency percentiles in milliseconds, from a microsecond histogram of every response. */
  latencyMs: { p50: number; p99: number; p999: number; max: number; mean: number }
  /** Bulk runs: bytes the sink confirmed per second. */
  bytesPerSecond?: number
}
