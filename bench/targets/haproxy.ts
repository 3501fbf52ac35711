/**
 * HAProxy in master-worker mode with one thread, connection reuse to the upstreams and an HTTP
 * log on stdout (redirected to a file). Hosts with only `/` go through a map file, so a large
 * table costs one lookup, not one rule per host. HTTPS scenarios bind with `ssl crt` and the
 * bench certificate; TCP scenarios run `mode tcp`.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { reloadedRoutes, type HostRoutes, type Scenario } from '../scenarios.js'
import { findProgram } from './external.js'
import { freePort, spawnPinned, stopProcess, waitForPort } from './processes.js'
import { sortedPaths, tcpUpstreamAddress, upstreamAddress, type BenchContext, type Target } from './target.js'

// Each connection needs two descriptors; 4096 stays under a 20000 descriptor limit. The
// idle-memory scenario holds 5,000 client connections and needs more.
function maxConnections(scenario: Scenario): number {
  return scenario.load === 'idle-connections' ? 6_000 : 4_096
}

/** Renders haproxy.cfg for a `mode tcp` proxy to the scenario's TCP upstream. */
export function renderHaproxyTcpConfig(ctx: BenchContext, port: number, scenario: Scenario): string {
  return [
    'global',
    `  maxconn ${maxConnections(scenario)}`,
    '  nbthread 1',
    '  log stdout format raw local0',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  timeout connect 5s',
    '  timeout client 65s',
    '  timeout server 65s',
    'frontend bench',
    `  bind 127.0.0.1:${port}`,
    '  default_backend up_tcp',
    'backend up_tcp',
    `  server t ${tcpUpstreamAddress(ctx, scenario)}`,
    '',
  ].join('\n')
}

/** Renders haproxy.cfg and the host map for the routing table. */
export function renderHaproxyConfig(ctx: BenchContext, dir: string, port: number, routes: readonly HostRoutes[], scenario: Scenario): { config: string; map: string } {
  const mapFile = join(dir, 'hosts.map')
  const rules: string[] = []
  const mapLines: string[] = []
  for (const host of routes) {
    const only = host.paths[0]
    if (host.paths.length === 1 && only!.prefix === '/') {
      mapLines.push(`${host.host} up_${only!.upstream}`)
      continue
    }
    for (const p of sortedPaths(host)) {
      rules.push(`  use_backend up_${p.upstream} if { hdr(host) -i ${host.host} } { path_beg ${p.prefix} }`)
    }
  }
  const config = [
    'global',
    `  maxconn ${maxConnections(scenario)}`,
    '  nbthread 1',
    '  log stdout format raw local0',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  timeout connect 5s',
    '  timeout client 65s',
    '  timeout server 65s',
    '  timeout http-keep-alive 65s',
    '  http-reuse safe',
    'frontend bench',
    `  bind 127.0.0.1:${port}${scenario.transport === 'https' ? ` ssl crt ${ctx.tls.combinedFile}` : ''}`,
    ...rules,
    `  use_backend %[req.hdr(host),lower,map_str(${mapFile})]`,
    'backend up_a',
    `  server a ${upstreamAddress(ctx, 'a')}`,
    'backend up_b',
    `  server b ${upstreamAddress(ctx, 'b')}`,
    '',
  ].join('\n')
  return { config, map: `${mapLines.join('\n')}\n` }
}

export function haproxyTarget(keepFiles: boolean): Target {
  const program = findProgram('haproxy')
  return {
    name: 'haproxy',
    kind: 'haproxy',
    supports: (scenario) => {
      if (program === undefined) return 'haproxy is not installed'
      return scenario.load === 'consul-follow' ? 'no Consul discovery in this HAProxy setup' : undefined
    },
    start: async (ctx, scenario) => {
      const port = await freePort()
      const dir = join(ctx.tempDir, `haproxy-${scenario.name}`)
      mkdirSync(dir, { recursive: true })
      const configFile = join(dir, 'haproxy.cfg')
      const write = (routes: readonly HostRoutes[]): void => {
        if (scenario.transport === 'tcp') {
          writeFileSync(configFile, renderHaproxyTcpConfig(ctx, port, scenario))
          return
        }
        const rendered = renderHaproxyConfig(ctx, dir, port, routes, scenario)
        writeFileSync(join(dir, 'hosts.map'), rendered.map)
        writeFileSync(configFile, rendered.config)
      }
      write(scenario.routes())
      const logFd = openSync(join(dir, 'access.log'), 'a')
      const started = performance.now()
      const child = spawnPinned(ctx.pinning.proxy, program!, ['-W', '-db', '-q', '-f', configFile], ['ignore', logFd, 'inherit'])
      closeSync(logFd)
      await waitForPort(port, child).catch(async (err: unknown) => {
        await stopProcess(child)
        throw err
      })
      let reloads = 0
      return {
        pid: child.pid!,
        port,
        readyMs: performance.now() - started,
        reload: (n) => {
          write(reloadedRoutes(scenario, n))
          child.kill('SIGUSR2')
          reloads++
        },
        countReloads: () => reloads,
        stop: async () => {
          await stopProcess(child)
          if (!keepFiles) rmSync(dir, { recursive: true, force: true })
          return { notes: scenario.reloadEveryMs === undefined ? [] : ['reload: config rewritten, then SIGUSR2 to the master'] }
        },
      }
    },
  }
}
