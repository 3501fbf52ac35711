import { connect } from 'node:net'
import type { CatalogStore, CheckRecord, CheckStatus } from './consul-double-store.js'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', '[::1]', 'localhost'])

async function probeHttp(target: string, timeoutMs: number): Promise<{ status: CheckStatus; output: string }> {
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })
    await res.arrayBuffer()
    const output = `HTTP GET ${target}: ${res.status}`
    if (res.status >= 200 && res.status < 300) return { status: 'passing', output }
    // Consul maps 429 Too Many Requests to warning.
    return { status: res.status === 429 ? 'warning' : 'critical', output }
  } catch (err) {
    return { status: 'critical', output: `HTTP GET ${target}: ${(err as Error).message}` }
  }
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<{ status: CheckStatus; output: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (status: CheckStatus, output: string) => {
      socket.destroy()
      resolve({ status, output })
    }
    socket.setTimeout(timeoutMs, () => done('critical', `TCP connect ${host}:${port}: timed out`))
    socket.once('connect', () => done('passing', `TCP connect ${host}:${port}: Success`))
    socket.once('error', (err) => done('critical', `TCP connect ${host}:${port}: ${err.message}`))
  })
}

function splitHostPort(address: string): { host: string; port: number } | undefined {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address)
  if (!match) return undefined
  return { host: match[1] ?? '', port: Number(match[2]) }
}

async function probeOne(check: CheckRecord): Promise<{ status: CheckStatus; output: string }> {
  const timeoutMs = check.timeoutMs ?? 10_000
  if (check.http !== undefined) {
    let host = ''
    try {
      host = new URL(check.http).hostname
    } catch {
      return { status: 'critical', output: `invalid check URL ${check.http}` }
    }
    if (!LOOPBACK_HOSTS.has(host)) return { status: 'critical', output: `probe skipped: ${host} is not loopback` }
    return probeHttp(check.http, timeoutMs)
  }
  const target = splitHostPort(check.tcp ?? '')
  if (!target) return { status: 'critical', output: `invalid TCP check address ${check.tcp}` }
  if (!LOOPBACK_HOSTS.has(target.host)) {
    return { status: 'critical', output: `probe skipped: ${target.host} is not loopback` }
  }
  return probeTcp(target.host, target.port, timeoutMs)
}

/**
 * Runs every HTTP and TCP check of the store once and records the results. Only loopback targets
 * are probed, so a test cannot send traffic elsewhere; any other target turns critical.
 */
export async function probeChecks(store: CatalogStore): Promise<void> {
  const jobs = [...store.checks].filter(([, check]) => check.http !== undefined || check.tcp !== undefined)
  await Promise.all(
    jobs.map(async ([key, check]) => {
      const result = await probeOne(check)
      if (store.checks.get(key) !== check) return
      store.updateCheck(key.slice(0, key.indexOf('/')), check, result.status, result.output)
    }),
  )
}
