/** Command-line options of `npm run bench`. */
import { parseArgs } from 'node:util'

export interface BenchOptions {
  quick: boolean
  only?: string
  targets?: string[]
  durationS: number
  warmupS: number
  connections: number
  check: boolean
  writeBaseline: boolean
  repeat: number
  cpuProf: boolean
  keepTemp: boolean
  help: boolean
}

export const HELP = `Usage: npm run bench -- [options]

Runs every scenario against the upstream directly, bare Node proxies (undici, http-proxy,
HTTPS, TCP), the gateway, and nginx and HAProxy when installed. Writes
bench/results/<timestamp>.json and, after a full run of every scenario and target, the results
and findings sections of docs/benchmarks.md.

Options:
  --quick              short suite (3 s runs, 1 s warm-up, quick scenarios only)
  --only NAME          run one scenario (keepalive, close, post-64k, hosts-10, hosts-1000,
                       hosts-10000, reload, https-keepalive, https-handshakes, tcp-bulk,
                       tcp-small, idle-memory, consul-follow, workers, policies)
  --targets LIST       comma-separated targets (direct, gateway-undici, gateway-http-proxy,
                       gateway-workers-2, gateway-workers-2-unpinned, bare-undici,
                       bare-http-proxy, bare-https, bare-tcp, nginx, haproxy, and the
                       policy-<name> targets of the policies scenario)
  --duration S         measured seconds per run (default 10, quick 3)
  --warmup S           warm-up seconds per run (default 2, quick 1)
  --connections N      concurrent connections (default 50; tcp-bulk always uses 1)
  --check              run the quick suite and exit 1 when a gateway ratio falls below
                       bench/baseline.json by more than its margin
  --write-baseline     run the quick suite --repeat times and write bench/baseline.json and
                       the noise section of docs/benchmarks.md
  --repeat N           quick-suite repetitions for --write-baseline (default 3) or --check (default 1)
  --cpu-prof           run the gateway under node --cpu-prof and print its top self-time functions
  --keep-temp          keep the temp directory with configs and logs
  --help               this text
`

function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${value}"`)
  return n
}

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      targets: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      check: { type: 'boolean', default: false },
      'write-baseline': { type: 'boolean', default: false },
      repeat: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'keep-temp': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  const check = values.check === true
  const writeBaseline = values['write-baseline'] === true
  const quick = values.quick === true || check || writeBaseline
  return {
    quick,
    only: values.only,
    targets: values.targets?.split(',').map((t) => t.trim()).filter((t) => t !== ''),
    durationS: positiveNumber('duration', values.duration, quick ? 3 : 10),
    warmupS: positiveNumber('warmup', values.warmup, quick ? 1 : 2),
    connections: Math.round(positiveNumber('connections', values.connections, 50)),
    check,
    writeBaseline,
    repeat: Math.round(positiveNumber('repeat', values.repeat, writeBaseline ? 3 : 1)),
    cpuProf: values['cpu-prof'] === true,
    keepTemp: values['keep-temp'] === true,
    help: values.help === true,
  }
}
