import { readFileSync } from 'node:fs'

/** Connection settings as the gateway config or a caller gives them; every field is optional. */
export interface ConsulConnectionOptions {
  /** `host:port`, or a URL with an `http` or `https` scheme. Default `127.0.0.1:8500`. */
  address?: string
  token?: string
  /** PEM file with the CA that signed Consul's HTTPS certificate. */
  caFile?: string
  /** Name to check in Consul's certificate when it differs from the host dialled. */
  tlsServerName?: string
  datacenter?: string
}

/** Connection settings after options and environment are merged. */
export interface ResolvedConsulConnection {
  host: string
  port: number
  secure: boolean
  token?: string
  caFile?: string
  ca?: Buffer
  tlsServerName?: string
  datacenter?: string
  /** Problems that were ignored, as Consul's CLI ignores them, for the caller to log. */
  warnings: string[]
}

const DEFAULT_ADDRESS = '127.0.0.1:8500'

/** Parses a boolean the way Go's strconv.ParseBool does; returns undefined when invalid. */
function parseGoBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false
  return undefined
}

/**
 * Splits an address the way Consul's Go API client reads CONSUL_HTTP_ADDR: an `http://` or
 * `https://` prefix sets the scheme and wins over CONSUL_HTTP_SSL; without a prefix the scheme
 * comes from CONSUL_HTTP_SSL. A missing port means the scheme's default port (80 or 443).
 */
export function parseConsulAddress(
  address: string,
  sslDefault: boolean,
): { host: string; port: number; secure: boolean } {
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address)
  let secure = sslDefault
  let rest = address
  if (schemeMatch) {
    const scheme = (schemeMatch[1] ?? '').toLowerCase()
    if (scheme !== 'http' && scheme !== 'https') {
      throw new Error(`invalid Consul address "${address}": scheme ${scheme} is not supported, use http or https`)
    }
    secure = scheme === 'https'
    rest = address.slice(schemeMatch[0].length)
  }
  let url: URL
  try {
    url = new URL(`${secure ? 'https' : 'http'}://${rest}`)
  } catch {
    throw new Error(`invalid Consul address "${address}": expected host:port or an http(s) URL`)
  }
  if (url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new Error(`invalid Consul address "${address}": expected host:port or an http(s) URL`)
  }
  const defaultPort = secure ? 443 : 80
  const port = url.port === '' ? defaultPort : Number(url.port)
  return { host: url.hostname, port, secure }
}

/**
 * Merges explicit options with the environment variables Consul's CLI reads: CONSUL_HTTP_ADDR,
 * CONSUL_HTTP_TOKEN, CONSUL_CACERT and CONSUL_HTTP_SSL. Explicit options win. Reads the CA file
 * now so a wrong path fails at startup.
 */
export function resolveConsulConnection(
  options: ConsulConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConsulConnection {
  const warnings: string[] = []
  const sslText = env.CONSUL_HTTP_SSL
  let ssl = false
  if (sslText !== undefined && sslText !== '') {
    const parsed = parseGoBool(sslText)
    // Consul's CLI logs an unparsable value and goes on with plain HTTP.
    if (parsed === undefined) warnings.push(`ignoring CONSUL_HTTP_SSL "${sslText}": expected true or false`)
    ssl = parsed ?? false
  }
  const address = options.address ?? (env.CONSUL_HTTP_ADDR || DEFAULT_ADDRESS)
  // CONSUL_HTTP_SSL applies to the environment's address, not to an explicit option without scheme.
  const sslDefault = options.address === undefined ? ssl : false
  const { host, port, secure } = parseConsulAddress(address, sslDefault)

  const out: ResolvedConsulConnection = { host, port, secure, warnings }
  const token = options.token ?? (env.CONSUL_HTTP_TOKEN || undefined)
  if (token !== undefined) out.token = token
  const caFile = options.caFile ?? (env.CONSUL_CACERT || undefined)
  if (caFile !== undefined) {
    out.caFile = caFile
    try {
      out.ca = readFileSync(caFile)
    } catch (err) {
      throw new Error(`cannot read Consul CA file ${caFile}: ${(err as Error).message}`, { cause: err })
    }
  }
  if (options.tlsServerName !== undefined) out.tlsServerName = options.tlsServerName
  if (options.datacenter !== undefined) out.datacenter = options.datacenter
  return out
}
