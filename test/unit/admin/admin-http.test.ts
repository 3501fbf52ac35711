import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ADMIN_ERRORS, AdminError, describeError } from '../../../src/admin/admin-http.js'
import { ControlError } from '../../../src/control/errors.js'

describe('admin errors', () => {
  const doc = readFileSync(new URL('../../../docs/admin-api.md', import.meta.url), 'utf8')

  it.each(Object.entries(ADMIN_ERRORS))('documents %s with its status', (code, { status }) => {
    expect(doc).toContain(`| \`${code}\` | ${status} |`)
  })

  it('maps a control error with its problems', () => {
    const problems = [{ field: 'zones[0]', message: 'is not a zone' }]
    const err = new ControlError('GW_CTL_INVALID', 'invalid cluster', { problems })

    const described = describeError(err)

    expect(described?.status).toBe(400)
    expect(described?.body).toEqual({ code: 'GW_CTL_INVALID', message: 'invalid cluster', field: 'zones[0]', problems })
  })

  it('omits empty problems', () => {
    const described = describeError(new ControlError('GW_CTL_NOT_FOUND', 'node i-1 not found'))

    expect(described?.body).toEqual({ code: 'GW_CTL_NOT_FOUND', message: 'node i-1 not found' })
  })

  it('keeps admin error headers', () => {
    const described = describeError(new AdminError('GW_ADMIN_METHOD_NOT_ALLOWED', 'no', { allow: 'GET' }))

    expect(described?.status).toBe(405)
    expect(described?.headers).toEqual({ allow: 'GET' })
  })

  it('leaves unexpected errors undescribed', () => {
    expect(describeError(new Error('boom'))).toBeUndefined()
  })
})
