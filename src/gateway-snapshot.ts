import type { ListenerConfig } from './config/types.js'
import type { EndpointSpec } from './discovery/types.js'
import type { BackendRef, IngressSpec } from './ingress/model.js'

/** The routing state a primary sends to its workers; plain data, so it crosses process boundaries. */
export interface DataPlaneSnapshot {
  generation: number
  unbound?: string
  ingresses: IngressSpec[]
  /** Service key (or error) for each backend, keyed by `backendKey`. */
  resolved: Array<[string, { service: string } | { error: string }]>
  endpoints: Array<[string, EndpointSpec[]]>
  /** Listeners of the bound cluster's service ports. */
  bindingListeners: ListenerConfig[]
}

/** Key of a backend in a snapshot's `resolved` list. */
export function backendKey(backend: BackendRef): string {
  return `${backend.service}|${backend.portNumber ?? ''}|${backend.portName ?? ''}`
}
