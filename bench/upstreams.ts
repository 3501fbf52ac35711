/** Starts the two benchmark upstreams as separate processes. */
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Pinning } from './machine.js'
import type { UpstreamName } from './scenarios.js'
import { spawnPinned, stopProcess } from './targets/processes.js'

export interface Upstreams {
  ports: Record<UpstreamName, { port: number; pid: number }>
  stop: () => Promise<void>
}

function startOne(distDir: string, pinning: Pinning): Promise<{ child: ChildProcess; port: number }> {
  const script = join(distDir, 'bench', 'servers', 'upstream.js')
  const child = spawnPinned(pinning.load, process.execPath, [script, '0'], ['ignore', 'pipe', 'inherit'])
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.once('line', (line) => resolve({ child, port: (JSON.parse(line) as { port: number }).port }))
    child.once('exit', (code) => reject(new Error(`upstream exited with code ${code} before listening`)))
  })
}

export async function startUpstreams(distDir: string, pinning: Pinning): Promise<Upstreams> {
  const a = await startOne(distDir, pinning)
  const b = await startOne(distDir, pinning)
  return {
    ports: { a: { port: a.port, pid: a.child.pid! }, b: { port: b.port, pid: b.child.pid! } },
    stop: async () => {
      await stopProcess(a.child)
      await stopProcess(b.child)
    },
  }
}
