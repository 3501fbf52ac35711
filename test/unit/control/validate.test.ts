import { describe, expect, it } from 'vitest'
import { ControlError } from '../../../src/control/errors.js'
import { checkId, parseCluster, parseNode, parseService, parseSlb } from '../../../src/control/validate.js'

function problemsOf(parse: () => unknown): Record<string, string> {
  try {
    parse()
  } catch (err) {
    expect(err).toBeInstanceOf(ControlError)
    const e = err as ControlError
    expect(e.code).toBe('GW_CTL_INVALID')
    expect(e.status).toBe(400)
    return Object.fromEntries(e.problems.map((p) => [p.field, p.message]))
  }
  throw new Error('expected GW_CTL_INVALID')
}

describe('control input validation', () => {
  it.each([
    ['a', true],
    ['c1', true],
    ['web-2', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['Web', false],
    ['-web', false],
    ['web-', false],
    ['web_2', false],
    ['web.2', false],
  ])('id %j valid: %s', (id, valid) => {
    if (valid) expect(checkId(id, 'id')).toBe(id)
    else expect(problemsOf(() => checkId(id, 'id'))).toHaveProperty('id')
  })

  it('cluster lists every problem', () => {
    const problems = problemsOf(() =>
      parseCluster({ id: 'C1', accountId: 7, vpcId: 'vpc-1', zones: ['z1', 'Z2', 'z1'], networkType: 'classic', extra: 1 }),
    )

    expect(Object.keys(problems).sort()).toEqual(
      ['accountId', 'extra', 'id', 'networkType', 'regionId', 'zones[1]', 'zones[2]'].sort(),
    )
    expect(problems['regionId']).toBe('is required')
    expect(problems['zones[2]']).toBe('duplicates "z1"')
    expect(problems['networkType']).toBe("must be 'vpc'")
  })

  it('cluster error names the first field', () => {
    const err = (() => {
      try {
        parseCluster({ id: 'c1', accountId: 'a', regionId: 'r', vpcId: 'v', zones: [] })
      } catch (e) {
        return e as ControlError
      }
      return undefined
    })()

    expect(err?.field).toBe('zones')
    expect(err?.message).toBe('invalid cluster: zones: must have at least 1 item(s)')
  })

  it('cluster defaults name and network type', () => {
    const cluster = parseCluster({ id: 'c1', accountId: 'a', regionId: 'r', vpcId: 'v', zones: ['z1'] })

    expect(cluster.name).toBe('c1')
    expect(cluster.networkType).toBe('vpc')
  })

  it('consul mapping needs datacenter or tags', () => {
    const problems = problemsOf(() =>
      parseCluster({ id: 'c1', accountId: 'a', regionId: 'r', vpcId: 'v', zones: ['z1'], consul: {} }),
    )

    expect(problems).toEqual({ consul: 'must set datacenter, tags or both' })
  })

  it('attached node needs account, region and VPC', () => {
    const node = { id: 'i-1', clusterId: 'c1', zoneId: 'z1', hasElasticIp: true, billing: 'subscription', joinedBy: 'attach' }

    expect(Object.keys(problemsOf(() => parseNode(node))).sort()).toEqual(['accountId', 'regionId', 'vpcId'])
  })

  it('expanded node leaves placement to the cluster', () => {
    const node = parseNode({ id: 'i-1', clusterId: 'c1', zoneId: 'z1', hasElasticIp: false, billing: 'pay-as-you-go', joinedBy: 'expand' })

    expect(node.role).toBe('worker')
    expect(node.vpcId).toBeUndefined()
  })

  it('node enums and booleans', () => {
    const problems = problemsOf(() =>
      parseNode({ id: 'i-1', clusterId: 'c1', zoneId: 'z1', hasElasticIp: 'yes', billing: 'monthly', role: 'boss', joinedBy: 'clone' }),
    )

    expect(problems).toEqual({
      joinedBy: "must be 'expand' or 'attach'",
      hasElasticIp: 'must be true or false',
      billing: "must be 'pay-as-you-go' or 'subscription'",
      role: "must be 'worker' or 'master'",
    })
  })

  it('static service endpoints with paths', () => {
    const problems = problemsOf(() =>
      parseService({
        clusterId: 'c1',
        name: 'web',
        ports: [
          { name: 'http', port: 80 },
          { name: 'http', port: 70000 },
        ],
        source: {
          kind: 'static',
          endpoints: [
            { host: '10.0.0.1', port: 8080, weight: 5 },
            { host: 'bad host', port: 0 },
            { host: '10.0.0.1', port: 8080, weight: 5000 },
          ],
        },
      }),
    )

    expect(problems).toEqual({
      'ports[1].name': 'duplicates "http"',
      'ports[1].port': 'must be an integer from 1 to 65535',
      'source.endpoints[1].host': 'must be a hostname or an IP address',
      'source.endpoints[1].port': 'must be an integer from 1 to 65535',
      'source.endpoints[2].weight': 'must be an integer from 0 to 1000',
      'source.endpoints[2]': 'duplicates 10.0.0.1:8080',
    })
  })

  it('consul service rejects endpoints', () => {
    const problems = problemsOf(() =>
      parseService({
        clusterId: 'c1',
        name: 'web',
        ports: [{ name: 'http', port: 80 }],
        source: { kind: 'consul', service: 'web', endpoints: [] },
      }),
    )

    expect(problems).toEqual({ 'source.endpoints': "is only allowed with kind 'static'" })
  })

  it('static service defaults weight to 1', () => {
    const service = parseService({
      clusterId: 'c1',
      name: 'web',
      ports: [{ name: 'tcp', port: 9000 }],
      source: { kind: 'static', endpoints: [{ host: '::1', port: 9000 }] },
    })

    expect(service.source).toEqual({ kind: 'static', endpoints: [{ host: '::1', port: 9000, weight: 1 }] })
    expect(service.ports[0]?.protocol).toBe('tcp')
  })

  it('SLB address type', () => {
    const problems = problemsOf(() => parseSlb({ id: 'slb-1', accountId: 'a', regionId: 'r', addressType: 'public' }))

    expect(problems).toEqual({ addressType: "must be 'internet' or 'intranet'" })
  })

  it('non-object input', () => {
    expect(problemsOf(() => parseSlb(null))).toHaveProperty('$', 'must be an object')
  })
})
