import { readFileSync } from 'node:fs'
import { Agent, request } from 'undici'

interface EndpointView {
  id: string
  address: string
  weight: number
  health: string
  active?: string
  ejected?: boolean
  available: boolean
  inflight: number
  source: string
}

interface ServiceView {
  service: string
  policy?: string
  rotation?: { healthy: number; total: number; panic: boolean }
  endpoints: EndpointView[]
}

const USAGE = `Usage: portway endpoints [--admin URL] [--ca FILE --cert FILE --key FILE] [--json]

Lists every upstream service of a running gateway with its endpoints: address, weight,
health from the source, active check, ejection, availability, requests in flight, source.
  --admin URL   admin API address (default http://127.0.0.1:9901)
  --ca, --cert, --key   PEM files for an admin API that requires mutual TLS
  --json        print the admin API's JSON as is`

/** Prints the endpoint view of a running gateway's admin API; returns the exit code. */
export async function runEndpointsCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const flags = new Map<string, string>()
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--json') json = true
    else if (arg === '--help' || arg === '-h') {
      out(USAGE)
      return 0
    } else if (['--admin', '--ca', '--cert', '--key'].includes(arg) && argv[i + 1] !== undefined) {
      flags.set(arg, argv[++i]!)
    } else {
      out(`portway endpoints: unknown or incomplete option ${arg}\n\n${USAGE}`)
      return 2
    }
  }
  const base = (flags.get('--admin') ?? 'http://127.0.0.1:9901').replace(/\/$/, '')
  let body: { services: ServiceView[] }
  try {
    const dispatcher = flags.has('--ca') || flags.has('--cert')
      ? new Agent({ connect: { ca: readOptional(flags.get('--ca')), cert: readOptional(flags.get('--cert')), key: readOptional(flags.get('--key')) } })
      : undefined
    const res = await request(`${base}/v1/endpoints`, { dispatcher })
    if (res.statusCode !== 200) {
      out(`portway endpoints: ${base}/v1/endpoints returned ${res.statusCode}: ${await res.body.text()}`)
      return 1
    }
    body = (await res.body.json()) as { services: ServiceView[] }
  } catch (err) {
    out(`portway endpoints: cannot reach the admin API at ${base} (${(err as Error).message}); is the gateway running, and is --admin right?`)
    return 1
  }
  if (json) {
    out(JSON.stringify(body, null, 2))
    return 0
  }
  if (body.services.length === 0) out('(no upstream services: no route or listener names a service)')
  for (const svc of body.services) {
    const rotation = svc.rotation === undefined ? '' : `  healthy ${svc.rotation.healthy}/${svc.rotation.total}${svc.rotation.panic ? '  PANIC MODE' : ''}`
    out(`${svc.service}  (${svc.policy ?? 'default'})${rotation}`)
    if (svc.endpoints.length === 0) out('  (no endpoints)')
    for (const ep of svc.endpoints) {
      const state = [ep.available ? 'in rotation' : 'out of rotation', `source ${ep.health}`, ep.active === undefined ? '' : `check ${ep.active}`, ep.ejected === true ? 'ejected' : '']
        .filter((p) => p !== '')
        .join(', ')
      // Slow start gives fractional weights; two decimals keep the columns readable.
      const weight = Number.isInteger(ep.weight) ? String(ep.weight) : ep.weight.toFixed(2)
      out(`  ${ep.address.padEnd(24)} weight ${weight.padEnd(4)} inflight ${String(ep.inflight).padEnd(4)} ${ep.source.padEnd(7)} ${state}`)
    }
  }
  return 0
}

function readOptional(file: string | undefined): Buffer | undefined {
  return file === undefined ? undefined : readFileSync(file)
}
