export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific'

/** The service an Ingress backend names, as written in the rule file. */
export interface BackendRef {
  service: string
  portNumber?: number
  portName?: string
}

/** One path rule of one Ingress, validated but not yet compiled. */
export interface RuleSpec {
  /** `namespace/name#rule.path`, unique across all loaded files. */
  id: string
  /** `namespace/name` of the Ingress. */
  ingress: string
  file: string
  line?: number
  /** Lower-case host, `*.suffix` wildcard, or undefined for a host-less rule. */
  host?: string
  path: string
  pathType: PathType
  backend: BackendRef
}

export interface TlsSpec {
  hosts: string[]
  secretName?: string
}

/** A validated Ingress object. */
export interface IngressSpec {
  /** `namespace/name`. */
  name: string
  file: string
  line?: number
  rules: RuleSpec[]
  defaultBackend?: BackendRef
  tls: TlsSpec[]
  annotations: Record<string, string>
}

/** The validated content of one rule file. */
export interface RuleFile {
  file: string
  ingresses: IngressSpec[]
}
