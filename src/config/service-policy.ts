import type { Checker, FieldPath } from './checker.js'
import type { BalancerPolicyName, ServicePolicy } from './types.js'

const POLICIES: readonly BalancerPolicyName[] = ['round-robin', 'weighted-round-robin', 'least-connections', 'consistent-hash', 'two-choices']
export const POLICY_KEYS = ['balancer', 'healthCheck', 'outlierDetection', 'panicThresholdPercent', 'slowStartMs', 'stickyCookie', 'maxConnections']

export const DEFAULT_POLICY: ServicePolicy = Object.freeze({
  balancer: { policy: 'weighted-round-robin', hashOn: 'client-ip', boundedLoadFactor: 1.25 },
  outlierDetection: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
  panicThresholdPercent: 50,
  slowStartMs: 0,
  maxConnections: 0,
}) as ServicePolicy

/** Reads the policy fields of a service (or of `serviceDefaults`) on top of `base`. */
export function readServicePolicy(check: Checker, obj: Record<string, unknown>, path: FieldPath, base: ServicePolicy): ServicePolicy {
  return {
    balancer: readBalancer(check, obj.balancer, [...path, 'balancer'], base.balancer),
    healthCheck: obj.healthCheck === undefined ? base.healthCheck : readHealthCheck(check, obj.healthCheck, [...path, 'healthCheck']),
    outlierDetection: readOutlier(check, obj.outlierDetection, [...path, 'outlierDetection'], base.outlierDetection),
    panicThresholdPercent: check.integer(obj.panicThresholdPercent, [...path, 'panicThresholdPercent'], 0, 100) ?? base.panicThresholdPercent,
    slowStartMs: check.integer(obj.slowStartMs, [...path, 'slowStartMs'], 0, 3_600_000) ?? base.slowStartMs,
    stickyCookie: obj.stickyCookie === undefined ? base.stickyCookie : readSticky(check, obj.stickyCookie, [...path, 'stickyCookie']),
    maxConnections: check.integer(obj.maxConnections, [...path, 'maxConnections'], 0, 10_000_000) ?? base.maxConnections,
  }
}

function readBalancer(check: Checker, value: unknown, path: FieldPath, base: ServicePolicy['balancer']): ServicePolicy['balancer'] {
  if (typeof value === 'string') return { ...base, policy: check.oneOf(value, path, POLICIES) ?? base.policy }
  const obj = check.object(value, path)
  if (!obj) return base
  check.unknownKeys(obj, path, ['policy', 'hashOn', 'boundedLoadFactor'])
  let hashOn = base.hashOn
  const hashText = check.string(obj.hashOn, [...path, 'hashOn'])
  if (hashText !== undefined) {
    if (hashText === 'client-ip') hashOn = 'client-ip'
    else if (hashText.startsWith('header:') && hashText.length > 7) hashOn = { header: hashText.slice(7).toLowerCase() }
    else if (hashText.startsWith('cookie:') && hashText.length > 7) hashOn = { cookie: hashText.slice(7) }
    else check.report([...path, 'hashOn'], `"${hashText}" must be client-ip, header:NAME or cookie:NAME`)
  }
  let factor = base.boundedLoadFactor
  if (obj.boundedLoadFactor !== undefined) {
    if (typeof obj.boundedLoadFactor !== 'number' || obj.boundedLoadFactor < 1) check.report([...path, 'boundedLoadFactor'], 'must be a number of at least 1')
    else factor = obj.boundedLoadFactor
  }
  return { policy: check.oneOf(obj.policy, [...path, 'policy'], POLICIES) ?? base.policy, hashOn, boundedLoadFactor: factor }
}

function readHealthCheck(check: Checker, value: unknown, path: FieldPath): ServicePolicy['healthCheck'] {
  const obj = check.object(value, path)
  if (!obj) return undefined
  check.unknownKeys(obj, path, ['type', 'path', 'expectedStatuses', 'host', 'intervalMs', 'timeoutMs', 'healthyThreshold', 'unhealthyThreshold'])
  const statuses: Array<[number, number]> = []
  for (const [i, item] of (check.array(obj.expectedStatuses, [...path, 'expectedStatuses']) ?? [[200, 399]]).entries()) {
    const range = parseStatusRange(item)
    if (range === undefined) check.report([...path, 'expectedStatuses', i], 'must be a status such as 200, or a range such as "200-399"')
    else statuses.push(range)
  }
  const checkPath = check.string(obj.path, [...path, 'path']) ?? '/'
  if (!checkPath.startsWith('/')) check.report([...path, 'path'], `"${checkPath}" must start with "/"`)
  return {
    type: check.oneOf(obj.type, [...path, 'type'], ['http', 'tcp'] as const) ?? 'http',
    path: checkPath,
    expectedStatuses: statuses,
    host: check.string(obj.host, [...path, 'host']),
    intervalMs: check.integer(obj.intervalMs, [...path, 'intervalMs'], 100, 3_600_000) ?? 5_000,
    timeoutMs: check.integer(obj.timeoutMs, [...path, 'timeoutMs'], 10, 600_000) ?? 2_000,
    healthyThreshold: check.integer(obj.healthyThreshold, [...path, 'healthyThreshold'], 1, 100) ?? 2,
    unhealthyThreshold: check.integer(obj.unhealthyThreshold, [...path, 'unhealthyThreshold'], 1, 100) ?? 3,
  }
}

function parseStatusRange(item: unknown): [number, number] | undefined {
  const valid = (n: number): boolean => Number.isInteger(n) && n >= 100 && n <= 599
  if (typeof item === 'number') return valid(item) ? [item, item] : undefined
  if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'number' && typeof item[1] === 'number') {
    return valid(item[0]) && valid(item[1]) && item[0] <= item[1] ? [item[0], item[1]] : undefined
  }
  if (typeof item === 'string') {
    const m = /^(\d{3})-(\d{3})$/.exec(item)
    if (m === null) return undefined
    const low = Number(m[1])
    const high = Number(m[2])
    return valid(low) && valid(high) && low <= high ? [low, high] : undefined
  }
  return undefined
}

function readOutlier(check: Checker, value: unknown, path: FieldPath, base: ServicePolicy['outlierDetection']): ServicePolicy['outlierDetection'] {
  const obj = check.object(value, path)
  if (!obj) return base
  check.unknownKeys(obj, path, ['consecutiveFailures', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectionPercent'])
  return {
    consecutiveFailures: check.integer(obj.consecutiveFailures, [...path, 'consecutiveFailures'], 0, 10_000) ?? base.consecutiveFailures,
    baseEjectionMs: check.integer(obj.baseEjectionMs, [...path, 'baseEjectionMs'], 1, 3_600_000) ?? base.baseEjectionMs,
    maxEjectionMs: check.integer(obj.maxEjectionMs, [...path, 'maxEjectionMs'], 1, 86_400_000) ?? base.maxEjectionMs,
    maxEjectionPercent: check.integer(obj.maxEjectionPercent, [...path, 'maxEjectionPercent'], 0, 100) ?? base.maxEjectionPercent,
  }
}

function readSticky(check: Checker, value: unknown, path: FieldPath): ServicePolicy['stickyCookie'] {
  const obj = check.object(value, path)
  if (!obj) return undefined
  check.unknownKeys(obj, path, ['name', 'maxAgeSeconds'])
  const name = check.string(obj.name, [...path, 'name']) ?? 'portway_sticky'
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) check.report([...path, 'name'], `"${name}" is not a valid cookie name`)
  return { name, maxAgeSeconds: check.integer(obj.maxAgeSeconds, [...path, 'maxAgeSeconds'], 1, 400 * 86_400) }
}
