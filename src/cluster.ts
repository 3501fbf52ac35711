import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry } from 'prom-client'
import { GatewayMetrics } from './admin/gateway-metrics.js'
import { describePool, type PoolView } from './admin/gateway-routes.js'
import { loadConfigOrThrow } from './config/load-config.js'
import type { GatewayConfig } from './config/types.js'
import { Gateway, type DataPlaneSnapshot } from './gateway.js'
import type { Logger } from './log.js'
import type { AccessWriter } from './proxy/http-handler.js'
import { startRuntime, type Runtime } from './runtime.js'

type PrimaryMessage =
  | { type: 'snapshot'; snapshot: DataPlaneSnapshot }
  | { type: 'stop' }
  | { type: 'reopen-logs' }
  | { type: 'endpoints-request'; id: number }
type WorkerMessage = { type: 'ready' } | { type: 'endpoints'; id: number; pools: PoolView[] }

/** How long the primary waits for the workers' endpoint views. */
const VIEW_TIMEOUT_MS = 1_000

const RESTART_DELAY_MS = 1_000

/**
 * Runs the primary of a multi-process gateway: discovery, rule compilation, the control
 * service and the admin API run here, and `config.workers` worker processes share the
 * listening sockets and serve the snapshots this process sends them.
 */
export async function runPrimary(config: GatewayConfig, log: Logger, accessWriter?: AccessWriter): Promise<{ stop(): Promise<void>; reload(): Promise<unknown> }> {
  const workers = new Set<Worker>()
  let latest: DataPlaneSnapshot | undefined
  let stopping = false
  const send = (worker: Worker, message: PrimaryMessage): void => {
    if (worker.isConnected()) worker.send(message)
  }
  const aggregator = new AggregatorRegistry()
  let nextViewRequest = 0
  const pendingViews = new Map<number, { views: PoolView[][]; expected: number; done: (views: PoolView[][]) => void }>()
  // Each worker balances and ejects on its own; the admin view merges what they report.
  const endpointViews = (): Promise<PoolView[]> => new Promise((resolve) => {
    const id = nextViewRequest++
    const live = [...workers].filter((w) => w.isConnected())
    const finish = (views: PoolView[][]): void => {
      pendingViews.delete(id)
      resolve(mergePoolViews(views))
    }
    pendingViews.set(id, { views: [], expected: live.length, done: finish })
    if (live.length === 0) finish([])
    for (const worker of live) send(worker, { type: 'endpoints-request', id })
    setTimeout(() => {
      const pending = pendingViews.get(id)
      if (pending !== undefined) finish(pending.views)
    }, VIEW_TIMEOUT_MS).unref()
  })
  const runtime: Runtime = await startRuntime(config, log, {
    endpointViews,
    role: 'primary',
    onSnapshot: (snapshot) => {
      latest = snapshot
      for (const worker of workers) send(worker, { type: 'snapshot', snapshot })
    },
    // Requests are counted in the workers; the admin API reports their sum.
    renderMetrics: () => aggregator.clusterMetrics(),
    accessWriter,
  })
  cluster.setupPrimary({ serialization: 'advanced', args: [...process.argv.slice(2)] })
  const fork = (): void => {
    const worker = cluster.fork({ PORTWAY_WORKER: '1', PORTWAY_CONFIG: config.file })
    workers.add(worker)
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready' && latest !== undefined) send(worker, { type: 'snapshot', snapshot: latest })
      if (message.type === 'endpoints') {
        const pending = pendingViews.get(message.id)
        if (pending === undefined) return
        pending.views.push(message.pools)
        if (pending.views.length === pending.expected) pending.done(pending.views)
      }
    })
    worker.once('exit', (code, signal) => {
      workers.delete(worker)
      if (stopping) return
      log.error({ worker: worker.process.pid, code, signal, restartInMs: RESTART_DELAY_MS }, 'worker exited; starting a new one')
      setTimeout(() => {
        if (!stopping) fork()
      }, RESTART_DELAY_MS).unref()
    })
  }
  for (let i = 0; i < config.workers; i++) fork()
  log.info({ workers: config.workers }, 'workers started')
  return {
    reload: () => {
      for (const worker of workers) send(worker, { type: 'reopen-logs' })
      return runtime.reload()
    },
    async stop() {
      stopping = true
      const exits = [...workers].map((w) => new Promise<void>((resolve) => {
        if (w.isDead()) resolve()
        else w.once('exit', () => resolve())
      }))
      for (const worker of workers) send(worker, { type: 'stop' })
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, config.timeouts.shutdownMs + 2_000).unref())
      await Promise.race([Promise.all(exits), deadline])
      for (const worker of workers) if (!worker.isDead()) worker.kill('SIGKILL')
      await runtime.stop()
    },
  }
}

/**
 * Merges the workers' views of each service. An endpoint is available only if every worker has
 * it in rotation, and ejected or down if any worker reports it so. In-flight counts add up.
 */
export function mergePoolViews(perWorker: readonly PoolView[][]): PoolView[] {
  const merged = new Map<string, PoolView>()
  for (const views of perWorker) {
    for (const view of views) {
      const current = merged.get(view.service)
      if (current === undefined) {
        merged.set(view.service, structuredClone(view))
        continue
      }
      current.rotation.healthy = Math.min(current.rotation.healthy, view.rotation.healthy)
      current.rotation.panic ||= view.rotation.panic
      for (const ep of view.endpoints) {
        const mine = current.endpoints.find((e) => e.id === ep.id)
        if (mine === undefined) continue
        mine.available &&= ep.available
        mine.ejected ||= ep.ejected
        if (ep.active === 'down') mine.active = 'down'
        mine.inflight += ep.inflight
      }
    }
  }
  return [...merged.values()]
}

/** Runs one data-plane worker: binds the config's listeners and serves the primary's snapshots. */
export async function runWorker(log: Logger, accessWriter?: AccessWriter, reopenLogs?: () => void): Promise<void> {
  const file = process.env.PORTWAY_CONFIG
  if (file === undefined) throw new Error('PORTWAY_CONFIG is not set; workers are started by the primary')
  const config = loadConfigOrThrow(file)
  config.demoUpstreams = []
  const metrics = new GatewayMetrics({ dataPlane: () => gateway.dataPlane, openConnections: () => gateway.openConnections() })
  // Constructing an AggregatorRegistry registers the handler that sends metrics to the primary.
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([metrics.registry])
  const gateway: Gateway = new Gateway(config, {
    log: log.child({ worker: cluster.worker?.id }),
    role: 'worker',
    watch: false,
    onRecord: (record) => metrics.observe(record),
    accessWriter,
  })
  let resolveFirst: () => void = () => undefined
  const firstSnapshot = new Promise<void>((resolve) => (resolveFirst = resolve))
  process.on('message', (message: PrimaryMessage) => {
    if (message.type === 'snapshot') {
      gateway.applySnapshot(message.snapshot).then(resolveFirst, (err: unknown) => log.error({ err }, 'cannot apply snapshot from the primary'))
    } else if (message.type === 'endpoints-request') {
      const pools = [...gateway.dataPlane.registry.pools()].map(describePool)
      process.send?.({ type: 'endpoints', id: message.id, pools } satisfies WorkerMessage)
    } else if (message.type === 'reopen-logs') {
      reopenLogs?.()
    } else if (message.type === 'stop') {
      void gateway.stop().finally(() => process.exit(0))
    }
  })
  // The primary handles signals and sends workers a stop message.
  process.on('SIGINT', () => undefined)
  process.on('SIGTERM', () => undefined)
  process.on('SIGHUP', () => reopenLogs?.())
  process.send?.({ type: 'ready' } satisfies WorkerMessage)
  // Listen only with routes in place, so a new worker never responds 404 for a known host.
  await firstSnapshot
  await gateway.start()
}
