/** The direct baseline: the load generator talks to upstream `a` with no proxy in between. */
import type { Target } from './target.js'

export const directTarget: Target = {
  name: 'direct',
  kind: 'direct',
  supports: () => undefined,
  start: async (ctx) => ({
    pid: ctx.upstreams.a.pid,
    port: ctx.upstreams.a.port,
    readyMs: 0,
    stop: async () => ({ notes: ['CPU and RSS are the upstream process, which runs for the whole benchmark'] }),
  }),
}
