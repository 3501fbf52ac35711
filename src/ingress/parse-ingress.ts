import { isIP } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Problem } from '../errors.js'
import { Checker, describe, type FieldPath } from '../config/checker.js'
import { parseYamlDocuments, type YamlDoc } from '../config/yaml-source.js'
import type { BackendRef, IngressSpec, PathType, RuleSpec, TlsSpec } from './model.js'

export interface IngressClassPolicy {
  className: string
  /** Accept Ingresses that name no class. */
  defaultClass: boolean
}

/** An Ingress that was valid but is not for this gateway. */
export interface SkippedObject {
  file: string
  line?: number
  name: string
  reason: string
}

export interface ParsedRuleFile {
  ingresses: IngressSpec[]
  skipped: SkippedObject[]
  problems: Problem[]
}

/** Metadata fields of a Kubernetes object, as `kubectl get -o yaml` writes them. */
const METADATA_KEYS = [
  'name', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'ownerReferences', 'finalizers',
  'generateName', 'selfLink',
]

const DNS1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const PORT_NAME = /^(?=.{1,15}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/
const CLASS_ANNOTATION = 'kubernetes.io/ingress.class'
const PATH_TYPES: readonly PathType[] = ['Exact', 'Prefix', 'ImplementationSpecific']

/** Parses and validates every document of a rule file. Any problem rejects the whole file. */
export function parseRuleFile(file: string, text: string, policy: IngressClassPolicy): ParsedRuleFile {
  const { ingresses, skipped, problems, documents } = parseDocuments(file, text, policy, 0)
  const out = { ingresses, skipped, problems }
  if (documents === 0 && problems.length === 0) out.problems.push(emptyFileProblem(file))
  checkDuplicateNames(file, out)
  return out
}

/**
 * Builds the problem for an empty file. It is rejected rather than read as "no rules", because a
 * truncating editor or a shell redirect leaves one for a moment, and serving it would drop
 * every route of the file.
 */
function emptyFileProblem(file: string): Problem {
  return { file, path: '', line: 1, message: 'the file has no YAML document; delete the file to remove its rules' }
}

/** Files larger than this are parsed a few documents at a time, yielding to other work between. */
const CHUNKED_PARSE_BYTES = 64 * 1024
/** Parsing time after which the chunked parser yields to the event loop. */
const PARSE_SLICE_MS = 8
/** Size of one parse step; the YAML parser reads roughly 0.5 MB/s here, so about 15 ms of work. */
const CHUNK_BYTES = 8 * 1024

/**
 * Parses like `parseRuleFile`, but a large file is split at its `---` document markers and
 * parsed in slices of about 8 ms, so a reload of thousands of rules does not stall traffic.
 */
export async function parseRuleFileAsync(file: string, text: string, policy: IngressClassPolicy): Promise<ParsedRuleFile> {
  if (text.length < CHUNKED_PARSE_BYTES) return parseRuleFile(file, text, policy)
  const out: ParsedRuleFile = { ingresses: [], skipped: [], problems: [] }
  let sliceStart = performance.now()
  let documents = 0
  for (const chunk of splitDocuments(text)) {
    const part = parseDocuments(file, chunk.text, policy, documents)
    shiftLines(part, chunk.firstLine - 1)
    documents += part.documents
    out.ingresses.push(...part.ingresses)
    out.skipped.push(...part.skipped)
    out.problems.push(...part.problems)
    if (performance.now() - sliceStart > PARSE_SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve))
      sliceStart = performance.now()
    }
  }
  if (documents === 0 && out.problems.length === 0) out.problems.push(emptyFileProblem(file))
  checkDuplicateNames(file, out)
  return out
}

/**
 * Splits YAML text at document markers (`---` at the start of a line, which ends any block
 * scalar too), into chunks of about 8 KiB, each with the 1-based line it starts on.
 */
function* splitDocuments(text: string): Generator<{ text: string; firstLine: number }> {
  const marker = /^---[ \t]*(?:#.*)?$/gm
  let start = 0
  let startLine = 1
  let line = 1
  let scanned = 0
  for (let m = marker.exec(text); m !== null; m = marker.exec(text)) {
    if (m.index - start < CHUNK_BYTES) continue
    line += countLines(text, scanned, m.index)
    scanned = m.index
    yield { text: text.slice(start, m.index), firstLine: startLine }
    start = m.index
    startLine = line
  }
  yield { text: text.slice(start), firstLine: startLine }
}

function countLines(text: string, from: number, to: number): number {
  let n = 0
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++
  return n
}

function shiftLines(parsed: ParsedRuleFile, offset: number): void {
  if (offset === 0) return
  const shift = (line: number | undefined): number | undefined => (line === undefined ? undefined : line + offset)
  for (const p of parsed.problems) p.line = shift(p.line)
  for (const s of parsed.skipped) s.line = shift(s.line)
  for (const ing of parsed.ingresses) {
    ing.line = shift(ing.line)
    for (const rule of ing.rules) rule.line = shift(rule.line)
  }
}

function parseDocuments(file: string, text: string, policy: IngressClassPolicy, firstIndex: number): ParsedRuleFile & { documents: number } {
  const { docs, problems } = parseYamlDocuments(file, text)
  const out = { ingresses: [] as IngressSpec[], skipped: [] as SkippedObject[], problems, documents: docs.length }
  docs.forEach((doc, index) => {
    const check = new Checker(doc)
    const ingress = readIngressDocument(check, doc, firstIndex + index, policy, out.skipped)
    out.problems.push(...check.problems)
    if (ingress) out.ingresses.push(ingress)
  })
  return out
}

function checkDuplicateNames(file: string, out: ParsedRuleFile): void {
  const names = new Set<string>()
  for (const ing of out.ingresses) {
    if (names.has(ing.name)) {
      out.problems.push({ file, path: 'metadata.name', line: ing.line, message: `Ingress ${ing.name} is defined twice in this file` })
    }
    names.add(ing.name)
  }
}

function readIngressDocument(
  check: Checker,
  doc: YamlDoc,
  index: number,
  policy: IngressClassPolicy,
  skipped: SkippedObject[],
): IngressSpec | undefined {
  const root = check.object(doc.value, [], true)
  if (!root) return undefined
  const kind = root.kind
  const apiVersion = root.apiVersion
  if (kind !== 'Ingress') {
    check.report(['kind'], `document ${index + 1} has kind ${describe(kind)}; a rule file holds only kind: Ingress`)
    return undefined
  }
  if (apiVersion !== 'networking.k8s.io/v1') {
    check.report(['apiVersion'], `must be networking.k8s.io/v1, got ${describe(apiVersion)}`)
    return undefined
  }
  check.unknownKeys(root, [], ['apiVersion', 'kind', 'metadata', 'spec', 'status'])
  const meta = check.object(root.metadata, ['metadata'], true) ?? {}
  check.unknownKeys(meta, ['metadata'], METADATA_KEYS)
  const name = check.string(meta.name, ['metadata', 'name'], true) ?? `document-${index + 1}`
  const namespace = check.string(meta.namespace, ['metadata', 'namespace']) ?? 'default'
  const fullName = `${namespace}/${name}`
  const annotations = readAnnotations(check, meta.annotations)
  const spec = check.object(root.spec, ['spec'], true) ?? {}
  check.unknownKeys(spec, ['spec'], ['ingressClassName', 'defaultBackend', 'tls', 'rules'])
  const ingress: IngressSpec = {
    name: fullName,
    file: doc.file,
    line: doc.lineOf([]),
    rules: [],
    tls: readTls(check, spec.tls),
    annotations,
  }
  if (spec.defaultBackend !== undefined) {
    ingress.defaultBackend = readBackend(check, spec.defaultBackend, ['spec', 'defaultBackend'])
  }
  ingress.rules = readRules(check, spec.rules, ingress)
  if (spec.rules === undefined && spec.defaultBackend === undefined) {
    check.report(['spec'], 'needs rules or a defaultBackend')
  }
  const className = annotations[CLASS_ANNOTATION] ?? (typeof spec.ingressClassName === 'string' ? spec.ingressClassName : undefined)
  const skipReason = classSkipReason(className, policy)
  if (skipReason !== undefined) {
    skipped.push({ file: doc.file, line: ingress.line, name: fullName, reason: skipReason })
    return undefined
  }
  return ingress
}

function classSkipReason(className: string | undefined, policy: IngressClassPolicy): string | undefined {
  if (className === undefined) {
    return policy.defaultClass ? undefined : `it names no ingress class and this gateway is not the default class (ingress.defaultClass: false)`
  }
  if (className !== policy.className) return `its ingress class is "${className}", not "${policy.className}"`
  return undefined
}

function readAnnotations(check: Checker, value: unknown): Record<string, string> {
  const obj = check.object(value, ['metadata', 'annotations']) ?? {}
  const out: Record<string, string> = {}
  for (const [key, v] of Object.entries(obj)) {
    if (typeof v !== 'string') check.report(['metadata', 'annotations', key], `must be a string, got ${describe(v)}`)
    else out[key] = v
  }
  return out
}

function readRules(check: Checker, value: unknown, ingress: IngressSpec): RuleSpec[] {
  const list = check.array(value, ['spec', 'rules']) ?? []
  const out: RuleSpec[] = []
  list.forEach((item, i) => {
    const path: FieldPath = ['spec', 'rules', i]
    const rule = check.object(item, path, true)
    if (!rule) return
    check.unknownKeys(rule, path, ['host', 'http'])
    const host = rule.host === undefined ? undefined : readHost(check, rule.host, [...path, 'host'])
    const http = check.object(rule.http, [...path, 'http'], true)
    if (!http) return
    check.unknownKeys(http, [...path, 'http'], ['paths'])
    const paths = check.array(http.paths, [...path, 'http', 'paths'], true) ?? []
    if (Array.isArray(http.paths) && paths.length === 0) check.report([...path, 'http', 'paths'], 'must list at least one path')
    paths.forEach((p, j) => {
      const spec = readPath(check, p, [...path, 'http', 'paths', j])
      if (!spec) return
      out.push({
        id: `${ingress.name}#${i}.${j}`,
        ingress: ingress.name,
        file: ingress.file,
        line: check.doc.lineOf([...path, 'http', 'paths', j]),
        host,
        ...spec,
      })
    })
  })
  return out
}

function readPath(check: Checker, value: unknown, path: FieldPath): Pick<RuleSpec, 'path' | 'pathType' | 'backend'> | undefined {
  const obj = check.object(value, path, true)
  if (obj) check.unknownKeys(obj, path, ['path', 'pathType', 'backend'])
  if (!obj) return undefined
  const pathType = check.oneOf(obj.pathType, [...path, 'pathType'], PATH_TYPES)
  if (obj.pathType === undefined) check.report([...path, 'pathType'], `is required (${PATH_TYPES.join(', ')})`)
  let rulePath = obj.path === undefined ? undefined : check.string(obj.path, [...path, 'path'])
  if (pathType !== undefined) {
    if (rulePath === undefined && pathType !== 'ImplementationSpecific') check.report([...path, 'path'], `is required for pathType ${pathType}`)
    if (rulePath !== undefined) {
      const reason = invalidPathReason(rulePath)
      if (reason !== undefined) check.report([...path, 'path'], reason)
    }
  }
  const backend = readBackend(check, obj.backend, [...path, 'backend'])
  if (pathType === undefined || backend === undefined) return undefined
  rulePath ??= '/'
  return { path: rulePath, pathType, backend }
}

/** Returns why a rule path is invalid, following the Ingress v1 validation rules. */
export function invalidPathReason(path: string): string | undefined {
  if (!path.startsWith('/')) return `"${path}" must begin with "/"`
  for (const bad of ['//', '/./', '/../', '%2f', '%2F']) {
    if (path.includes(bad)) return `"${path}" must not contain "${bad}"`
  }
  if (path.endsWith('/..') || path.endsWith('/.')) return `"${path}" must not end with "/.." or "/."`
  if (/[?#\s]/.test(path)) return `"${path}" must not contain "?", "#" or whitespace`
  return undefined
}

function readHost(check: Checker, value: unknown, path: FieldPath): string | undefined {
  const host = check.string(value, path)
  if (host === undefined) return undefined
  const reason = invalidHostReason(host)
  if (reason !== undefined) {
    check.report(path, reason)
    return undefined
  }
  return host
}

/** Returns why a rule host is invalid: lower-case DNS name, or `*.` plus one, no IP or port. */
export function invalidHostReason(host: string): string | undefined {
  if (host.includes(':')) return `"${host}" must not contain a port or be an IPv6 address`
  if (isIP(host) !== 0) return `"${host}" is an IP address; rule hosts must be DNS names`
  if (host !== host.toLowerCase()) return `"${host}" must be lower-case`
  if (host.endsWith('.')) return `"${host}" must not end with a dot`
  const labels = host.split('.')
  const isWildcard = labels[0] === '*'
  if (isWildcard && labels.length < 2) return `"${host}" is a bare wildcard; write "*.example.com"`
  if (host.length > 253) return `"${host}" is longer than 253 characters`
  for (const [i, label] of labels.entries()) {
    if (i === 0 && isWildcard) continue
    if (label.length > 63 || !DNS1123_LABEL.test(label)) {
      return `"${host}" has an invalid label "${label}" (lower-case letters, digits and '-'; a wildcard must be the whole first label)`
    }
  }
  return undefined
}

function readBackend(check: Checker, value: unknown, path: FieldPath): BackendRef | undefined {
  const obj = check.object(value, path, true)
  if (obj) check.unknownKeys(obj, path, ['service', 'resource'])
  if (!obj) return undefined
  if (obj.resource !== undefined) {
    check.report([...path, 'resource'], 'resource backends are not supported; name a service')
    return undefined
  }
  const svc = check.object(obj.service, [...path, 'service'], true)
  if (!svc) return undefined
  check.unknownKeys(svc, [...path, 'service'], ['name', 'port'])
  const name = check.string(svc.name, [...path, 'service', 'name'], true)
  if (name !== undefined && !DNS1035_LABEL.test(name)) {
    check.report([...path, 'service', 'name'], `"${name}" must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63)`)
  }
  const port = check.object(svc.port, [...path, 'service', 'port'], true)
  const ref: BackendRef = { service: name ?? '' }
  if (port) {
    const portPath = [...path, 'service', 'port']
    check.unknownKeys(port, portPath, ['number', 'name'])
    if ((port.number === undefined) === (port.name === undefined)) check.report(portPath, 'needs exactly one of number or name')
    ref.portNumber = check.integer(port.number, [...portPath, 'number'], 1, 65535)
    const portName = check.string(port.name, [...portPath, 'name'])
    if (portName !== undefined && !PORT_NAME.test(portName)) check.report([...portPath, 'name'], `"${portName}" is not a valid port name`)
    else ref.portName = portName
  }
  return name === undefined ? undefined : ref
}

function readTls(check: Checker, value: unknown): TlsSpec[] {
  const list = check.array(value, ['spec', 'tls']) ?? []
  const out: TlsSpec[] = []
  list.forEach((item, i) => {
    const path: FieldPath = ['spec', 'tls', i]
    const obj = check.object(item, path, true)
    if (!obj) return
    check.unknownKeys(obj, path, ['hosts', 'secretName'])
    const hosts = (check.array(obj.hosts, [...path, 'hosts']) ?? [])
      .map((h, j) => readHost(check, h, [...path, 'hosts', j]))
      .filter((h): h is string => h !== undefined)
    out.push({ hosts, secretName: check.string(obj.secretName, [...path, 'secretName']) })
  })
  return out
}
