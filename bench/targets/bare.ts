/** Bare Node proxies (undici and http-proxy) with the same route table as the gateway. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BareProxySpec } from '../servers/route-lookup.js'
import type { HostRoutes } from '../scenarios.js'
import { freePort, spawnPinned, stopProcess, waitForPort } from './processes.js'
import { upstreamAddress, type BenchContext, type Target } from './target.js'

function bareSpec(ctx: BenchContext, port: number, routes: readonly HostRoutes[]): BareProxySpec {
  return {
    port,
    routes: routes.flatMap((h) => h.paths.map((p) => ({ host: h.host, pathPrefix: p.prefix, upstream: upstreamAddress(ctx, p.upstream) }))),
  }
}

function bareTarget(name: string, script: string): Target {
  return {
    name,
    kind: 'bare',
    supports: () => undefined,
    start: async (ctx, scenario) => {
      const port = await freePort()
      const specFile = join(ctx.tempDir, `${name}.json`)
      writeFileSync(specFile, JSON.stringify(bareSpec(ctx, port, scenario.routes())))
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

export const bareUndiciTarget = bareTarget('bare-undici', 'bare-undici-proxy.js')
export const bareHttpProxyTarget = bareTarget('bare-http-proxy', 'bare-http-proxy.js')
