import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { CONTROL_ERRORS, ControlError, invalidInput, isControlError } from '../../../src/control/errors.js'

const DOC_URL = new URL('../../../docs/control.md', import.meta.url)

/** Reads `| \`CODE\` | status |` rows from the error table of docs/control.md. */
async function documentedStatuses(): Promise<Map<string, number>> {
  const doc = await readFile(DOC_URL, 'utf8')
  const rows = [...doc.matchAll(/^\| `(GW_CTL_[A-Z_]+)` \| (\d{3}) \|/gm)]
  return new Map(rows.map((m) => [m[1]!, Number(m[2])]))
}

describe('control errors', () => {
  it('docs list every code with its status', async () => {
    const documented = await documentedStatuses()

    for (const [code, { status }] of Object.entries(CONTROL_ERRORS)) {
      expect(documented.get(code), code).toBe(status)
    }
  })

  it('docs list no unknown code', async () => {
    const documented = await documentedStatuses()

    expect([...documented.keys()].filter((code) => !(code in CONTROL_ERRORS))).toEqual([])
  })

  it('error carries code, status and field', () => {
    const err = new ControlError('GW_CTL_SLB_BOUND', 'SLB slb-1 is bound', { field: 'slbId' })

    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('ControlError')
    expect(err.status).toBe(409)
    expect(err.field).toBe('slbId')
    expect(isControlError(err, 'GW_CTL_SLB_BOUND')).toBe(true)
    expect(isControlError(err, 'GW_CTL_CONFLICT')).toBe(false)
  })

  it('invalid input joins every problem', () => {
    const err = invalidInput('cluster', [
      { field: 'id', message: 'is required' },
      { field: 'zones[1]', message: 'duplicates "z1"' },
    ])

    expect(err.code).toBe('GW_CTL_INVALID')
    expect(err.field).toBe('id')
    expect(err.message).toBe('invalid cluster: id: is required; zones[1]: duplicates "z1"')
  })
})
