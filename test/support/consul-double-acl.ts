import type { IncomingMessage } from 'node:http'
import { HttpError } from './consul-double-util.js'

export type AclResource = 'service' | 'node' | 'key' | 'session' | 'agent' | 'operator'
export type AclAccess = 'read' | 'write'

/** One rule of a token, as `<resource>_prefix "<prefix>" { policy = "<policy>" }` in Consul. */
export interface AclRule {
  resource: AclResource
  prefix: string
  policy: 'read' | 'write' | 'deny'
}

export interface AclToken {
  /** A management token may do anything. */
  management?: boolean
  rules?: AclRule[]
}

export interface AclConfig {
  enabled: boolean
  /** What requests without a matching rule get; also sent as X-Consul-Default-ACL-Policy. */
  defaultPolicy: 'allow' | 'deny'
  /** Known token secrets. */
  tokens: Record<string, AclToken>
}

/** The caller of one request, after its token has been resolved. */
export interface Caller {
  token: string | undefined
  allowed(resource: AclResource, name: string, access: AclAccess): boolean
}

/** Reads the token from X-Consul-Token, `Authorization: Bearer`, or the discouraged `?token=`. */
export function requestToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = req.headers['x-consul-token']
  if (typeof header === 'string' && header !== '') return header
  const auth = req.headers.authorization
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth)
    if (match) return match[1]
  }
  const fromQuery = query.get('token')
  return fromQuery === null || fromQuery === '' ? undefined : fromQuery
}

function longestRule(rules: readonly AclRule[], resource: AclResource, name: string): AclRule | undefined {
  let best: AclRule | undefined
  for (const rule of rules) {
    if (rule.resource !== resource || !name.startsWith(rule.prefix)) continue
    if (!best || rule.prefix.length > best.prefix.length) best = rule
  }
  return best
}

/**
 * Resolves the caller. With ACLs off everything is allowed. An unknown token is a 403
 * `ACL not found`; a request without a token acts as anonymous, which the default policy governs.
 */
export function resolveCaller(config: AclConfig, token: string | undefined): Caller {
  if (!config.enabled) return { token, allowed: () => true }
  const record = token === undefined ? undefined : config.tokens[token]
  if (token !== undefined && record === undefined) throw new HttpError(403, 'ACL not found')
  const rules = record?.rules ?? []
  return {
    token,
    allowed(resource, name, access) {
      if (record?.management) return true
      const rule = longestRule(rules, resource, name)
      if (!rule) return config.defaultPolicy === 'allow'
      if (rule.policy === 'deny') return false
      return rule.policy === 'write' || access === 'read'
    },
  }
}

/** Throws Consul's 403 when the caller lacks `access` on `resource` `name`. */
export function requireAccess(caller: Caller, resource: AclResource, name: string, access: AclAccess): void {
  if (!caller.allowed(resource, name, access)) throw new HttpError(403, 'Permission denied')
}
