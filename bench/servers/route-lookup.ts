/** Route table shared by the bare proxies: host, then the longest matching path prefix. */

export interface BareRoute {
  host: string
  pathPrefix: string
  /** `host:port` of the upstream. */
  upstream: string
}

export interface BareProxySpec {
  port: number
  routes: BareRoute[]
  /** Certificate and key of the HTTPS proxy. */
  tls?: { certFile: string; keyFile: string }
  /** `host:port` every connection of the TCP proxy goes to. */
  tcpUpstream?: string
}

type PrefixList = Array<{ prefix: string; upstream: string }>

/** Builds a lookup function from host and path to an upstream address. */
export function compileBareRoutes(routes: readonly BareRoute[]): (host: string, path: string) => string | undefined {
  const byHost = new Map<string, PrefixList>()
  for (const route of routes) {
    let list = byHost.get(route.host)
    if (list === undefined) {
      list = []
      byHost.set(route.host, list)
    }
    list.push({ prefix: route.pathPrefix, upstream: route.upstream })
  }
  for (const list of byHost.values()) list.sort((a, b) => b.prefix.length - a.prefix.length)
  return (host, path) => {
    const list = byHost.get(host)
    if (list === undefined) return undefined
    for (const entry of list) if (path.startsWith(entry.prefix)) return entry.upstream
    return undefined
  }
}
