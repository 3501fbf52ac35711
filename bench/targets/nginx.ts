/**
 * nginx with one worker, keep-alive to the upstreams, request bodies streamed (not buffered)
 * and a buffered access log, the nearest match to how the gateway is measured. HTTPS scenarios
 * add `ssl` to the listeners with the bench certificate; TCP scenarios use the `stream` module,
 * and are skipped when this nginx has none.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { reloadedRoutes, type HostRoutes, type Scenario, type Transport } from '../scenarios.js'
import { findProgram } from './external.js'
import { freePort, spawnPinned, stopProcess, waitForPort } from './processes.js'
import { sortedPaths, tcpUpstreamAddress, upstreamAddress, type BenchContext, type Target } from './target.js'

/** Where Debian-style packages put the dynamic stream module (libnginx-mod-stream). */
const STREAM_MODULE_FILES = ['/usr/lib/nginx/modules/ngx_stream_module.so', '/usr/share/nginx/modules/ngx_stream_module.so']

/**
 * Returns how to enable the stream module: `static` when it is built in, the module file when
 * it is dynamic and installed, or undefined when there is none.
 */
function findStreamModule(program: string): string | undefined {
  let configure = ''
  try {
    // nginx -V prints its configure arguments on stderr.
    configure = execFileSync(program, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    configure = String((err as { stderr?: string }).stderr ?? '')
  }
  if (/--with-stream(\s|$)/.test(configure)) return 'static'
  return STREAM_MODULE_FILES.find((file) => existsSync(file))
}

function listenDirective(port: number, transport: Transport, extra = ''): string {
  return `    listen 127.0.0.1:${port}${extra}${transport === 'https' ? ' ssl' : ''};`
}

function renderServer(port: number, host: HostRoutes, transport: Transport): string {
  const locations = sortedPaths(host).map((p) => `    location ${p.prefix} { proxy_pass http://up_${p.upstream}; }`)
  return [`  server {`, listenDirective(port, transport), `    server_name ${host.host};`, ...locations, '  }'].join('\n')
}

function prelude(dir: string): string[] {
  const user = process.getuid?.() === 0 ? ['user root;'] : []
  return [
    ...user,
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 8192; }',
  ]
}

/** Renders an nginx.conf that proxies TCP with the stream module; `module` as from findStreamModule. */
export function renderNginxStreamConfig(dir: string, port: number, upstream: string, module: string): string {
  const load = module === 'static' ? [] : [`load_module ${module};`]
  return [
    ...load,
    ...prelude(dir),
    'stream {',
    `  server { listen 127.0.0.1:${port}; proxy_pass ${upstream}; tcp_nodelay on; }`,
    '}',
    '',
  ].join('\n')
}

/** Renders a complete nginx.conf for the routing table; paths are absolute. */
export function renderNginxConfig(ctx: BenchContext, dir: string, port: number, routes: readonly HostRoutes[], transport: Transport = 'http'): string {
  const tls = transport === 'https' ? [`  ssl_certificate ${ctx.tls.certFile};`, `  ssl_certificate_key ${ctx.tls.keyFile};`] : []
  return [
    ...prelude(dir),
    'http {',
    ...tls,
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
    `  server {\n${listenDirective(port, transport, ' default_server')}\n    return 404;\n  }`,
    ...routes.map((h) => renderServer(port, h, transport)),
    '}',
    '',
  ].join('\n')
}

function skipReason(program: string | undefined, streamModule: string | undefined, scenario: Scenario): string | undefined {
  if (program === undefined) return 'nginx is not installed'
  if (scenario.load === 'consul-follow') return 'no Consul discovery in nginx'
  if (scenario.transport === 'tcp' && streamModule === undefined) {
    return 'this nginx has no stream module (built with --with-stream=dynamic, module file not installed)'
  }
  return undefined
}

export function nginxTarget(keepFiles: boolean): Target {
  const program = findProgram('nginx')
  const streamModule = program === undefined ? undefined : findStreamModule(program)
  const render = (ctx: BenchContext, dir: string, port: number, scenario: Scenario, routes: readonly HostRoutes[]): string =>
    scenario.transport === 'tcp'
      ? renderNginxStreamConfig(dir, port, tcpUpstreamAddress(ctx, scenario), streamModule!)
      : renderNginxConfig(ctx, dir, port, routes, scenario.transport)
  return {
    name: 'nginx',
    kind: 'nginx',
    supports: (scenario) => skipReason(program, streamModule, scenario),
    start: async (ctx, scenario) => {
      const port = await freePort()
      const dir = join(ctx.tempDir, `nginx-${scenario.name}`)
      mkdirSync(dir, { recursive: true })
      const configFile = join(dir, 'nginx.conf')
      writeFileSync(configFile, render(ctx, dir, port, scenario, scenario.routes()))
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
          writeFileSync(configFile, render(ctx, dir, port, scenario, reloadedRoutes(scenario, n)))
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
