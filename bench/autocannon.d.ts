// Type declarations for the parts of autocannon 8 the load worker uses; the package ships none.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  interface AutocannonRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
  }

  interface AutocannonClient extends EventEmitter {
    _connect(): void
    _doRequest(): void
  }

  interface AutocannonOptions {
    url: string
    /** SNI name for https URLs; autocannon sets `rejectUnauthorized: false` itself. */
    servername?: string
    connections?: number
    duration?: number
    timeout?: number
    pipelining?: number
    requests?: AutocannonRequest[]
    setupClient?: (client: AutocannonClient) => void
  }

  interface AutocannonResult {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    resets: number
    requests: { average: number; total: number; sent: number }
    latency: Record<string, number>
    throughput: { average: number }
  }

  interface AutocannonInstance extends EventEmitter {
    stop(): void
  }

  function autocannon(
    options: AutocannonOptions,
    callback: (err: Error | null, result: AutocannonResult) => void,
  ): AutocannonInstance

  export default autocannon
  export type { AutocannonClient, AutocannonOptions, AutocannonRequest, AutocannonResult }
}
