/**
 * The direct baseline: the load generator talks to an upstream with no proxy in between. That is
 * upstream `a` for HTTP, an HTTPS copy of it started for the run for HTTPS, and the TCP sink or
 * echo server for TCP.
 */
import { startServerScript } from '../upstreams.js'
import { stopProcess } from './processes.js'
import type { RunningTarget, Target } from './target.js'

const SHARED_NOTE = 'CPU and RSS are the upstream process, which runs for the whole benchmark'

export const directTarget: Target = {
  name: 'direct',
  kind: 'direct',
  supports: (scenario) => (scenario.load === 'consul-follow' ? 'no proxy, so nothing follows Consul' : undefined),
  start: async (ctx, scenario): Promise<RunningTarget> => {
    if (scenario.transport === 'tcp') {
      const port = scenario.load === 'tcp-bulk' ? ctx.tcpUpstream.sinkPort : ctx.tcpUpstream.echoPort
      return { pid: ctx.tcpUpstream.pid, port, readyMs: 0, stop: async () => ({ notes: [SHARED_NOTE] }) }
    }
    if (scenario.transport === 'https') {
      const started = performance.now()
      const args = ['0', ctx.tls.certFile, ctx.tls.keyFile]
      const { child, info } = await startServerScript<{ port: number }>(ctx.distDir, ctx.pinning, 'upstream.js', args)
      return {
        pid: child.pid!,
        port: info.port,
        readyMs: performance.now() - started,
        stop: async () => {
          await stopProcess(child)
          return { notes: ['an HTTPS copy of the upstream, on the load side CPU'] }
        },
      }
    }
    return { pid: ctx.upstreams.a.pid, port: ctx.upstreams.a.port, readyMs: 0, stop: async () => ({ notes: [SHARED_NOTE] }) }
  },
}
