import { CidrSet, parseCidr, type CidrBlock } from '../util/cidr.js'

/** Client address lists of a route or listener; deny wins over allow. */
export interface AccessList {
  allow?: CidrSet
  deny?: CidrSet
}

/** Traffic split of a canary Ingress, attached to the main route it shadows. */
export interface CanarySplit {
  /** Service key of the canary backend. */
  service: string
  /** Share of requests, out of `weightTotal`, that go to the canary. */
  weight: number
  weightTotal: number
  /** Header that decides: `always` or `headerValue` sends to the canary, `never` to the main. */
  header?: string
  headerValue?: string
  /** Cookie that decides: `always` sends to the canary, `never` to the main. */
  cookie?: string
}

/** Per-route settings read from Ingress annotations. */
export interface RouteSettings {
  access?: AccessList
  /** Replaces `timeouts.upstreamResponseMs` for this route. */
  upstreamTimeoutMs?: number
  maxBodyBytes?: number
}

const PREFIX = 'portway.io/'
const NGINX = 'nginx.ingress.kubernetes.io/'

function first(annotations: Readonly<Record<string, string>>, ...names: string[]): [string, string] | undefined {
  for (const name of names) {
    const value = annotations[name]
    if (value !== undefined) return [name, value]
  }
  return undefined
}

/** Parses a comma-separated CIDR list; returns an error naming the bad entry. */
export function parseCidrList(text: string, annotation: string): CidrSet | string {
  const blocks: CidrBlock[] = []
  for (const part of text.split(',')) {
    const entry = part.trim()
    if (entry === '') continue
    const block = parseCidr(entry)
    if (block === undefined) return `annotation ${annotation}: "${entry}" is not an address or CIDR block`
    blocks.push(block)
  }
  return new CidrSet(blocks)
}

/** Parses a size such as `10m`, `512k` or `1048576` (bytes), as ingress-nginx writes them. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text.trim())
  if (m === null) return undefined
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']
  return Number(m[1]) * unit
}

/**
 * Reads the route settings of an Ingress from its annotations. ingress-nginx names are
 * honoured where their meaning is the same; `portway.io/` names win when both are set.
 */
export function readRouteSettings(annotations: Readonly<Record<string, string>>): RouteSettings | string {
  const settings: RouteSettings = {}
  const allow = first(annotations, `${PREFIX}allow-cidrs`, `${NGINX}allowlist-source-range`, `${NGINX}whitelist-source-range`)
  const deny = first(annotations, `${PREFIX}deny-cidrs`, `${NGINX}denylist-source-range`)
  if (allow !== undefined || deny !== undefined) {
    const access: AccessList = {}
    if (allow !== undefined) {
      const parsed = parseCidrList(allow[1], allow[0])
      if (typeof parsed === 'string') return parsed
      access.allow = parsed
    }
    if (deny !== undefined) {
      const parsed = parseCidrList(deny[1], deny[0])
      if (typeof parsed === 'string') return parsed
      access.deny = parsed
    }
    settings.access = access
  }
  const timeoutMs = annotations[`${PREFIX}upstream-timeout-ms`]
  const nginxTimeout = annotations[`${NGINX}proxy-read-timeout`]
  if (timeoutMs !== undefined) {
    if (!/^\d+$/.test(timeoutMs) || Number(timeoutMs) < 1) return `annotation ${PREFIX}upstream-timeout-ms: "${timeoutMs}" must be a positive integer of milliseconds`
    settings.upstreamTimeoutMs = Number(timeoutMs)
  } else if (nginxTimeout !== undefined) {
    if (!/^\d+$/.test(nginxTimeout) || Number(nginxTimeout) < 1) return `annotation ${NGINX}proxy-read-timeout: "${nginxTimeout}" must be a positive integer of seconds`
    settings.upstreamTimeoutMs = Number(nginxTimeout) * 1000
  }
  const hsts = annotations[`${PREFIX}hsts`]
  if (hsts !== undefined && !/^max-age=\d+(?:\s*;\s*[A-Za-z][A-Za-z0-9-]*(?:=[A-Za-z0-9-]+)?)*$/.test(hsts)) {
    return `annotation ${PREFIX}hsts: "${hsts.slice(0, 80)}" must be a Strict-Transport-Security value such as "max-age=31536000; includeSubDomains"`
  }
  const size = first(annotations, `${PREFIX}max-body-bytes`, `${NGINX}proxy-body-size`)
  if (size !== undefined) {
    const bytes = parseSize(size[1])
    if (bytes === undefined) return `annotation ${size[0]}: "${size[1]}" must be a size such as 1048576, 512k or 10m`
    // ingress-nginx reads 0 as "no limit".
    if (bytes > 0) settings.maxBodyBytes = bytes
  }
  return settings
}

/** Returns whether an Ingress is a canary of another, as ingress-nginx marks it. */
export function isCanary(annotations: Readonly<Record<string, string>>): boolean {
  return (annotations[`${PREFIX}canary`] ?? annotations[`${NGINX}canary`]) === 'true'
}

/** Reads the canary split of a canary Ingress; `service` is filled in by the caller. */
export function readCanary(annotations: Readonly<Record<string, string>>): Omit<CanarySplit, 'service'> | string {
  const get = (name: string): [string, string] | undefined => first(annotations, `${PREFIX}canary-${name}`, `${NGINX}canary-${name}`)
  const weight = get('weight')
  const total = get('weight-total')
  const out: Omit<CanarySplit, 'service'> = { weight: 0, weightTotal: 100 }
  if (total !== undefined) {
    if (!/^\d+$/.test(total[1]) || Number(total[1]) < 1) return `annotation ${total[0]}: "${total[1]}" must be a positive integer`
    out.weightTotal = Number(total[1])
  }
  if (weight !== undefined) {
    if (!/^\d+$/.test(weight[1]) || Number(weight[1]) > out.weightTotal) return `annotation ${weight[0]}: "${weight[1]}" must be an integer from 0 to ${out.weightTotal}`
    out.weight = Number(weight[1])
  }
  const header = get('by-header')
  if (header !== undefined) out.header = header[1].toLowerCase()
  const headerValue = get('by-header-value')
  if (headerValue !== undefined) out.headerValue = headerValue[1]
  const cookie = get('by-cookie')
  if (cookie !== undefined) out.cookie = cookie[1]
  return out
}
