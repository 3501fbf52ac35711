import { describe, expect, it } from 'vitest'
import { parseRuleFile, parseRuleFileAsync } from '../../../src/ingress/parse-ingress.js'

const policy = { className: 'portway', defaultClass: true }

function ingress(i: number, pathType = 'Prefix'): string {
  return [
    'apiVersion: networking.k8s.io/v1',
    'kind: Ingress',
    `metadata: { name: h${i} }`,
    'spec:',
    '  rules:',
    `    - host: h${i}.example.test`,
    `      http: { paths: [{ path: /, pathType: ${pathType}, backend: { service: { name: web, port: { number: 80 } } } }] }`,
  ].join('\n')
}

describe('chunked rule file parsing', () => {
  it('matches the one-pass parse on a large file', async () => {
    const text = Array.from({ length: 2_000 }, (_, i) => ingress(i)).join('\n---\n')
    expect(text.length).toBeGreaterThan(64 * 1024)
    const whole = parseRuleFile('big.yaml', text, policy)
    const chunked = await parseRuleFileAsync('big.yaml', text, policy)
    expect(chunked.problems).toEqual([])
    expect(chunked.ingresses.length).toBe(2_000)
    expect(chunked.ingresses.map((i) => [i.name, i.line, i.rules[0]?.line])).toEqual(whole.ingresses.map((i) => [i.name, i.line, i.rules[0]?.line]))
  })

  it('reports problems with their line in the whole file', async () => {
    const docs = Array.from({ length: 2_000 }, (_, i) => ingress(i, i === 1_500 ? 'Prefx' : 'Prefix'))
    const text = docs.join('\n---\n')
    const chunked = await parseRuleFileAsync('big.yaml', text, policy)
    const whole = parseRuleFile('big.yaml', text, policy)
    expect(chunked.problems).toHaveLength(1)
    expect(chunked.problems[0]?.line).toBe(1_500 * 8 + 7)
    expect(chunked.problems).toEqual(whole.problems)
  })

  it('finds duplicate names across chunks', async () => {
    const docs = Array.from({ length: 2_000 }, (_, i) => ingress(i === 1_999 ? 3 : i))
    const chunked = await parseRuleFileAsync('big.yaml', docs.join('\n---\n'), policy)
    expect(chunked.problems.map((p) => p.message)).toEqual(['Ingress default/h3 is defined twice in this file'])
  })
})
