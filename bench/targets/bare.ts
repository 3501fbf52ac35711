/** Bare Node proxies (undici, http-proxy, HTTPS, TCP) with the same route table as the gateway. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BareProxySpec } from '../servers/route-lookup.js'
import type { Scenario, Transport } from '../scenarios.js'
import { freePort, spawnPinned, stopProcess, waitForPort } from './processes.js'
import { tcpUpstreamAddress, upstreamAddress, type BenchContext, type Target } from './target.js'

function bareSpec(ctx: BenchContext, port: number, scenario: Scenario): BareProxySpec {
  const routes = scenario.routes()
  const spec: BareProxySpec = {
    port,
    routes: routes.flatMap((h) => h.paths.map((p) => ({ host: h.host, pathPrefix: p.prefix, upstream: upstreamAddress(ctx, p.upstream) }))),
  }
  if (scenario.transport === 'https') spec.tls = { certFile: ctx.tls.certFile, keyFile: ctx.tls.keyFile }
  if (scenario.transport === 'tcp') spec.tcpUpstream = tcpUpstreamAddress(ctx, scenario)
  return spec
}

function bareTarget(name: string, script: string, transport: Transport): Target {
  return {
    name,
    kind: 'bare',
    supports: (scenario) => {
      if (scenario.load === 'consul-follow') return 'no Consul discovery'
      return scenario.transport === transport ? undefined : `serves ${transport} only`
    },
    start: async (ctx, scenario) => {
      const port = await freePort()
      const specFile = join(ctx.tempDir, `${name}.json`)
      writeFileSync(specFile, JSON.stringify(bareSpec(ctx, port, scenario)))
      const started = performance.now()
      const child = spawnPinned(ctx.pinning.proxy, process.execPath, [join(ctx.distDir, 'bench', 'servers', script), specFile])
      await waitForPort(port, child).catch(async (err: unknown) => {
        await stopProcess(child)
        throw err
      })
      return {
        pid: child.pid!,
        port,
        readyMs: performance.now() - started,
        stop: async () => {
          await stopProcess(child)
          const notes = scenario.reloadEveryMs === undefined ? [] : ['no config to reload; runs the same load without reloads']
          return { notes }
        },
      }
    },
  }
}

export const bareUndiciTarget = bareTarget('bare-undici', 'bare-undici-proxy.js', 'http')
export const bareHttpProxyTarget = bareTarget('bare-http-proxy', 'bare-http-proxy.js', 'http')
export const bareHttpsTarget = bareTarget('bare-https', 'bare-https-proxy.js', 'https')
export const bareTcpTarget = bareTarget('bare-tcp', 'bare-tcp-proxy.js', 'tcp')
