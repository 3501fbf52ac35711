/**
 * nginx with one worker, keep-alive to the upstreams, request bodies streamed (not buffered)
 * and a buffered access log, the nearest match to how the gateway is measured.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { reloadedRoutes, type HostRoutes } from '../scenarios.js'
import { findProgram } from './external.js'
import { freePort, spawnPinned, stopProcess, waitForPort } from './processes.js'
import { sortedPaths, upstreamAddress, type BenchContext, type Target } from './target.js'

function renderServer(port: number, host: HostRoutes): string {
  const locations = sortedPaths(host).map((p) => `    location ${p.prefix} { proxy_pass http://up_${p.upstream}; }`)
  return [`  server {`, `    listen 127.0.0.1:${port};`, `    server_name ${host.host};`, ...locations, '  }'].join('\n')
}

/** Renders a complete nginx.conf for the routing table; paths are absolute. */
export function renderNginxConfig(ctx: BenchContext, dir: string, port: number, routes: readonly HostRoutes[]): string {
  const user = process.getuid?.() === 0 ? ['user root;'] : []
  return [
    ...user,
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 8192; }',
    'http {',
    `  access_log ${join(dir, 'access.log')} combined buffer=64k flush=1s;`,
    '  server_names_hash_max_size 65536;',
    '  server_names_hash_bucket_size 128;',
    '  keepalive_timeout 65s;',
    // nginx closes a client connection after 1000 requests by default; Node and HAProxy do not.
    '  keepalive_requests 1000000;',
    '  client_max_body_size 10m;',
    '  client_body_buffer_size 128k;',
    '  proxy_request_buffering off;',
    '  proxy_http_version 1.1;',
    '  proxy_set_header Connection "";',
    `  upstream up_a { server ${upstreamAddress(ctx, 'a')}; keepalive 256; keepalive_requests 1000000; }`,
    `  upstream up_b { server ${upstreamAddress(ctx, 'b')}; keepalive 256; keepalive_requests 1000000; }`,
    `  server { listen 127.0.0.1:${port} default_server; return 404; }`,
    ...routes.map((h) => renderServer(port, h)),
    '}',
    '',
  ].join('\n')
}

export function nginxTarget(keepFiles: boolean): Target {
  const program = findProgram('nginx')
  return {
    name: 'nginx',
    kind: 'nginx',
    supports: () => (program === undefined ? 'nginx is not installed' : undefined),
    start: async (ctx, scenario) => {
      const port = await freePort()
      const dir = join(ctx.tempDir, `nginx-${scenario.name}`)
      mkdirSync(dir, { recursive: true })
      const configFile = join(dir, 'nginx.conf')
      writeFileSync(configFile, renderNginxConfig(ctx, dir, port, scenario.routes()))
      const started = performance.now()
      const args = ['-p', `${dir}/`, '-c', configFile, '-e', join(dir, 'error.log')]
      const child = spawnPinned(ctx.pinning.proxy, program!, args, ['ignore', 'ignore', 'inherit'])
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
          writeFileSync(configFile, renderNginxConfig(ctx, dir, port, reloadedRoutes(scenario, n)))
          child.kill('SIGHUP')
          reloads++
        },
        countReloads: () => reloads,
        stop: async () => {
          await stopProcess(child)
          if (!keepFiles) rmSync(dir, { recursive: true, force: true })
          return { notes: scenario.reloadEveryMs === undefined ? [] : ['reload: config rewritten, then SIGHUP to the master'] }
        },
      }
    },
  }
}
