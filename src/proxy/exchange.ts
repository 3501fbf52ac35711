import type { Readable } from 'node:stream'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorCode } from '../errors.js'
import type { CompiledRoute } from '../ingress/routing-table.js'
import type { PoolEndpoint, UpstreamPool } from './upstream-pool.js'

/** Where a failed attempt broke, which decides whether it may be retried. */
export type FailurePhase = 'connect' | 'before-response' | 'after-response'

export interface AttemptFailure {
  code: ErrorCode
  phase: FailurePhase
  detail: string
  /** True when the upstream connection had served an earlier request (keep-alive reuse). */
  reusedConnection?: boolean
}

/** Callbacks a forwarder reports one attempt's progress to. */
export interface AttemptSink {
  onResponseStart(status: number): void
  onBodyBytes(bytes: number): void
  onComplete(): void
  onFailure(failure: AttemptFailure): void
}

export interface Forwarder {
  readonly name: string
  /** Sends one attempt of `exchange` to `endpoint` and reports to `sink`. */
  forward(exchange: Exchange, endpoint: PoolEndpoint, sink: AttemptSink): void
  close(): Promise<void>
}

/** Per-request state: the downstream pair, what it was routed to, and what the access log records. */
export interface Exchange {
  readonly id: string
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly startedAt: number
  readonly clientIp: string
  readonly proto: 'http' | 'https'
  /** Request path without the query string. */
  readonly path: string
  readonly hasBody: boolean
  route?: CompiledRoute
  pool?: UpstreamPool
  endpoint?: PoolEndpoint
  upstreamHeaders?: string[]
  /** Request body to send upstream when it is not `req` itself, such as a size-limited copy. */
  body?: Readable
  /** Response fields the gateway adds, such as HSTS or a sticky cookie: `[name, value, ...]`. */
  extraResponseHeaders?: string[]
  upstreamStartedAt: number
  upstreamHeadersAt: number
  upstreamStatus?: number
  attempts: number
  bytesOut: number
  flag?: string
  errorCode?: ErrorCode
  /** Set once the client went away; forwarders stop work for it. */
  downstreamClosed: boolean
  /** Cancels the current upstream attempt, if a forwarder registered one. */
  cancelUpstream?: () => void
}
