/**
 * Error codes of the control plane and the HTTP status an admin API sends for each.
 *
 * 400: the input itself is malformed. 404: a referenced record does not exist.
 * 409: the request conflicts with the current state (quota reached, already bound, still in use,
 * stale version). 422: the input is well formed but breaks a placement or binding rule.
 * 500, 503 and 507: the store is corrupt, unreachable or full.
 */
export const CONTROL_ERRORS = Object.freeze({
  GW_CTL_INVALID: { status: 400 },
  GW_CTL_NOT_FOUND: { status: 404 },
  GW_CTL_ALREADY_EXISTS: { status: 409 },
  GW_CTL_CONFLICT: { status: 409 },
  GW_CTL_CLUSTER_QUOTA_EXCEEDED: { status: 409 },
  GW_CTL_NODE_QUOTA_EXCEEDED: { status: 409 },
  GW_CTL_CLUSTER_ALREADY_BOUND: { status: 409 },
  GW_CTL_SLB_ALREADY_BOUND: { status: 409 },
  GW_CTL_CLUSTER_NOT_EMPTY: { status: 409 },
  GW_CTL_SLB_BOUND: { status: 409 },
  GW_CTL_IN_USE: { status: 409 },
  GW_CTL_SERVICE_PORT_IN_USE: { status: 409 },
  GW_CTL_NODE_REGION_MISMATCH: { status: 422 },
  GW_CTL_NODE_VPC_MISMATCH: { status: 422 },
  GW_CTL_NODE_ACCOUNT_MISMATCH: { status: 422 },
  GW_CTL_NODE_ZONE_MISMATCH: { status: 422 },
  GW_CTL_NODE_NO_ELASTIC_IP: { status: 422 },
  GW_CTL_NODE_BILLING_INVALID: { status: 422 },
  GW_CTL_CLUSTER_ZONE_UNKNOWN: { status: 422 },
  GW_CTL_SLB_REGION_MISMATCH: { status: 422 },
  GW_CTL_SLB_ACCOUNT_MISMATCH: { status: 422 },
  GW_CTL_SLB_ADDRESS_TYPE_INVALID: { status: 422 },
  GW_CTL_STORE_CORRUPT: { status: 500 },
  GW_CTL_STORE_UNAVAILABLE: { status: 503 },
  GW_CTL_STORE_TOO_LARGE: { status: 507 },
} as const)

export type ControlErrorCode = keyof typeof CONTROL_ERRORS

/** One input problem, located by a JSON path such as `zones[1]` or `endpoints[0].port`. */
export interface FieldProblem {
  field: string
  message: string
}

export interface ControlErrorOptions {
  field?: string
  problems?: readonly FieldProblem[]
  cause?: unknown
}

/** The one error class of the control plane. Callers branch on `code`. */
export class ControlError extends Error {
  readonly code: ControlErrorCode
  readonly status: number
  /** JSON path of the offending input field, when one field is to blame. */
  readonly field?: string
  /** Every input problem, for `GW_CTL_INVALID`. */
  readonly problems: readonly FieldProblem[]

  constructor(code: ControlErrorCode, message: string, options: ControlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ControlError'
    this.code = code
    this.status = CONTROL_ERRORS[code].status
    this.problems = options.problems ?? []

    const field = options.field ?? options.problems?.[0]?.field
    if (field !== undefined) this.field = field
  }
}

/** Checks whether `err` is a ControlError, with the given code when one is passed. */
export function isControlError(err: unknown, code?: ControlErrorCode): err is ControlError {
  return err instanceof ControlError && (code === undefined || err.code === code)
}

/** Builds a `GW_CTL_INVALID` error that lists every problem. */
export function invalidInput(subject: string, problems: readonly FieldProblem[]): ControlError {
  const list = problems.map((p) => `${p.field}: ${p.message}`).join('; ')
  return new ControlError('GW_CTL_INVALID', `invalid ${subject}: ${list}`, { problems })
}
