#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadConfigFile } from './config/load-config.js'
import type { GatewayConfig } from './config/types.js'
import { checkKeyPair } from './tls/inspect.js'
import { formatProblem } from './errors.js'
import { RuleSet } from './ingress/rule-set.js'
import { compileRoutes } from './ingress/routing-table.js'
import { createLogging } from './log.js'
import { startRuntime } from './runtime.js'
import { runPrimary, runWorker } from './cluster.js'

const DEFAULT_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url))

const HELP = `portway: load balancer and ingress gateway

Usage:
  portway [run] [--config FILE] [--log-level LEVEL]
      Start the gateway. Without --config it runs the embedded demo config
      (${DEFAULT_CONFIG}), which starts its own echo upstreams on 127.0.0.1.
  portway check [--config FILE]
      Validate the config and every rule file it names, print each problem with
      file, line and field, and exit 1 when there is one.
  portway endpoints [--admin URL]
      List the upstream endpoints of a running gateway with their health
      (run "portway endpoints --help").
  portway certs ...
      Create a CA, issue server and client certificates, inspect one
      (run "portway certs --help").
  portway --help

Signals: SIGTERM and SIGINT stop accepting connections, let in-flight requests
finish (timeouts.shutdownMs) and exit 0.
`

interface Flags {
  command: string
  config: string
  logLevel?: string
  rest: string[]
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { command: 'run', config: DEFAULT_CONFIG, rest: [] }
  let i = 0
  if (argv[0] !== undefined && !argv[0].startsWith('-')) {
    flags.command = argv[0]
    i = 1
  }
  if (flags.command === 'certs' || flags.command === 'endpoints') {
    flags.rest = argv.slice(1)
    return flags
  }
  for (; i < argv.length; i++) {
    const arg = argv[i]!
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new UsageError(`${arg} needs a value`)
      return v
    }
    if (arg === '--config' || arg === '-c') flags.config = value()
    else if (arg.startsWith('--config=')) flags.config = arg.slice('--config='.length)
    else if (arg === '--log-level') flags.logLevel = value()
    else if (arg === '--help' || arg === '-h') flags.command = 'help'
    else throw new UsageError(`unknown option ${arg}`)
  }
  return flags
}

class UsageError extends Error {}

async function run(flags: Flags): Promise<number> {
  const result = loadConfigFile(flags.config)
  if (!result.ok) {
    process.stderr.write(`portway: invalid config ${flags.config}; nothing was started:\n`)
    for (const p of result.problems) process.stderr.write(`  ${formatProblem(p)}\n`)
    return 1
  }
  const config = result.config
  if (flags.logLevel !== undefined) config.logging.level = flags.logLevel
  const logging = createLogging(config.logging)
  const log = logging.log
  let runtime: { stop(): Promise<void>; reload?(): Promise<unknown> } | undefined
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal during shutdown; exiting now')
      logging.flush()
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'shutdown requested')
    // Shutdown closes what is left at timeouts.shutdownMs; this bounds it even if a close hangs.
    const hardDeadlineMs = config.timeouts.shutdownMs + 5_000
    setTimeout(() => {
      log.error({ hardDeadlineMs }, 'shutdown did not finish in time; exiting')
      logging.flush()
      process.exit(1)
    }, hardDeadlineMs).unref()
    const done = runtime === undefined ? Promise.resolve() : runtime.stop()
    done.then(
      () => {
        logging.flush()
        process.exit(0)
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        logging.flush()
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // SIGHUP reopens the log file and re-reads the config and rule files, as logrotate expects.
  process.on('SIGHUP', () => {
    logging.reopen()
    log.info({ signal: 'SIGHUP' }, 'log file reopened; reloading config and rules')
    void runtime?.reload?.()
  })
  try {
    runtime = config.workers > 1
      ? await runPrimary(config, log, logging.writeAccess)
      : await startRuntime(config, log, { accessWriter: logging.writeAccess })
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    log.fatal({ err: message }, 'gateway failed to start')
    logging.flush()
    // With a log file, the terminal would otherwise show nothing but the exit status.
    if (config.logging.destination !== 'stdout' && config.logging.destination !== 'stderr') {
      process.stderr.write(`portway: gateway failed to start: ${message}\n`)
    }
    return 1
  }
  return -1
}

async function check(flags: Flags): Promise<number> {
  const result = loadConfigFile(flags.config)
  if (!result.ok) {
    for (const p of result.problems) process.stdout.write(`${formatProblem(p)}\n`)
    return 1
  }
  const certificateProblems = checkCertificates(result.config)
  for (const line of certificateProblems) process.stdout.write(`${line}\n`)
  const rules = new RuleSet(result.config.rules, result.config.ingress)
  const scan = await rules.scan()
  for (const r of scan.rejected) for (const p of r.problems) process.stdout.write(`${formatProblem(p)}\n`)
  for (const s of scan.skipped) process.stdout.write(`${s.file}:${s.line ?? 0}: ingress ${s.name} skipped: ${s.reason}\n`)
  const services = result.config.services
  const { table } = compileRoutes(rules.ingresses(), (b) =>
    services.has(b.service) || result.config.consul !== undefined
      ? { service: b.service }
      : { error: `service "${b.service}" is not defined under services and no consul is configured` },
  )
  for (const bad of table.rejected) process.stdout.write(`${bad.file}:${bad.line ?? 0}: rule ${bad.rule} disabled: ${bad.reason}\n`)
  const failed = scan.rejected.length > 0 || table.rejected.length > 0 || certificateProblems.length > 0
  process.stdout.write(`${failed ? 'invalid' : 'ok'}: ${table.size} routes from ${rules.ingresses().length} ingresses\n`)
  return failed ? 1 : 0
}

/** Returns one line per certificate file that is missing or fails the key-pair checks. */
function checkCertificates(config: GatewayConfig): string[] {
  const lines: string[] = []
  for (const cert of config.certificates) {
    let certPem: string
    let keyPem: string
    try {
      certPem = readFileSync(cert.certFile, 'utf8')
      keyPem = readFileSync(cert.keyFile, 'utf8')
    } catch (err) {
      lines.push(`${(err as NodeJS.ErrnoException).path ?? cert.certFile}: cannot read certificate "${cert.name}" (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
      continue
    }
    for (const problem of checkKeyPair({ certPem, keyPem, hosts: cert.hosts.length > 0 ? cert.hosts : undefined })) {
      lines.push(`${cert.certFile}: certificate "${cert.name}": ${problem.message}`)
    }
  }
  return lines
}

async function main(argv: string[]): Promise<number> {
  if (process.env.PORTWAY_WORKER === '1') {
    const config = loadConfigFile(process.env.PORTWAY_CONFIG ?? '')
    const logging = createLogging(config.ok ? config.config.logging : {})
    await runWorker(logging.log, logging.writeAccess, logging.reopen)
    return -1
  }
  let flags: Flags
  try {
    flags = parseFlags(argv)
  } catch (err) {
    process.stderr.write(`portway: ${(err as Error).message}\n\n${HELP}`)
    return 2
  }
  switch (flags.command) {
    case 'help':
      process.stdout.write(HELP)
      return 0
    case 'run':
      if (!existsSync(flags.config)) {
        process.stderr.write(`portway: config file ${flags.config} not found; pass --config FILE\n`)
        return 1
      }
      return run(flags)
    case 'check':
      return check(flags)
    case 'endpoints': {
      const { runEndpointsCommand } = await import('./endpoints-command.js')
      return runEndpointsCommand(flags.rest, (line) => process.stdout.write(`${line}\n`))
    }
    case 'certs': {
      const { runCertsCommand } = await import('./tls/certs-command.js')
      return runCertsCommand(flags.rest, (line) => process.stdout.write(`${line}\n`))
    }
    default:
      process.stderr.write(`portway: unknown command "${flags.command}"\n\n${HELP}`)
      return 2
  }
}

// A reader that closes early, such as `portway endpoints | head`, is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`portway: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  },
)
