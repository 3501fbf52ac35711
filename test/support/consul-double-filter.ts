import { HttpError } from './consul-double-util.js'

type Clause = (entry: unknown) => boolean

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`
const SELECTOR = String.raw`([A-Za-z][\w]*(?:\.[\w-]+)*)`
const EQUALS = new RegExp(String.raw`^${SELECTOR}\s*(==|!=)\s*${QUOTED}$`)
const IN = new RegExp(String.raw`^${QUOTED}\s+(in|not in)\s+${SELECTOR}$`)
const CONTAINS = new RegExp(String.raw`^${SELECTOR}\s+(contains|not contains)\s+${QUOTED}$`)
const ROOTS = new Set(['Node', 'Service', 'Checks'])

function invalid(expression: string): HttpError {
  return new HttpError(400, `Failed to create boolean expression evaluator: unsupported filter "${expression}"`)
}

function resolve(entry: unknown, selector: string): unknown {
  let current: unknown = entry
  for (const part of selector.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined
    current = (current as Record<string, unknown>)[part]
  }
  return current
}

function unquote(text: string): string {
  return text.replace(/\\(.)/g, '$1')
}

function compileClause(text: string, expression: string): Clause {
  const equals = EQUALS.exec(text)
  if (equals) {
    const [, selector = '', op, raw = ''] = equals
    if (!ROOTS.has(selector.split('.')[0] ?? '')) throw invalid(expression)
    const value = unquote(raw)
    return (entry) => (String(resolve(entry, selector) ?? '') === value) === (op === '==')
  }

  const member = IN.exec(text) ?? null
  const contains = member ? null : CONTAINS.exec(text)
  if (!member && !contains) throw invalid(expression)
  const selector = (member ? member[3] : contains![1]) ?? ''
  const op = (member ? member[2] : contains![2]) ?? ''
  const value = unquote((member ? member[1] : contains![3]) ?? '')
  if (!ROOTS.has(selector.split('.')[0] ?? '')) throw invalid(expression)
  const negate = op.startsWith('not')
  return (entry) => {
    const target = resolve(entry, selector)
    let found = false
    if (Array.isArray(target)) found = target.includes(value)
    else if (typeof target === 'string') found = target.includes(value)
    else if (target && typeof target === 'object') found = value in target
    return found !== negate
  }
}

/**
 * Compiles the small subset of go-bexpr the double understands: clauses joined by `and`, each
 * `Sel == "v"`, `Sel != "v"`, `"v" in Sel`, `"v" not in Sel`, `Sel contains "v"`. Anything
 * else is a 400, never a silent match-all.
 */
export function compileFilter(expression: string): (entry: unknown) => boolean {
  const trimmed = expression.trim()
  if (trimmed === '' || /[()]|\s(or)\s|^not\s/.test(trimmed)) throw invalid(expression)
  const clauses = trimmed.split(/\s+and\s+/).map((part) => compileClause(part.trim(), expression))
  return (entry) => clauses.every((clause) => clause(entry))
}
