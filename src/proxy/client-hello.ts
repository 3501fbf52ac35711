/**
 * Incremental TLS ClientHello parser for TLS passthrough. It reads the server name (SNI)
 * and the ALPN protocols without terminating TLS. It only inspects the bytes, and the caller
 * keeps them to forward them unchanged to the chosen upstream.
 */

export type ClientHelloResult =
  | { state: 'need-more' }
  | { state: 'done'; serverName?: string; alpn?: string[] }
  | { state: 'invalid'; reason: string }

export interface ClientHelloParserOptions {
  /** Maximum size in bytes of the ClientHello message body, 16384 when omitted. */
  maxHelloBytes?: number
}

const RECORD_HEADER_BYTES = 5
const HANDSHAKE_HEADER_BYTES = 4
const CONTENT_TYPE_HANDSHAKE = 22
const HANDSHAKE_CLIENT_HELLO = 1
// RFC 8446 §5.1: a TLSPlaintext fragment must not exceed 2^14 bytes.
const MAX_RECORD_BYTES = 16384
const DEFAULT_MAX_HELLO_BYTES = 16384
// A ClientHello normally fits one record. The limit bounds the work that a peer sending
// many tiny records can cause, and legitimate splitting stays far below it.
const MAX_RECORDS = 64
const EXTENSION_SERVER_NAME = 0
const EXTENSION_ALPN = 16
const NAME_TYPE_HOST_NAME = 0
const MAX_HOST_NAME_BYTES = 255
const NEED_MORE: ClientHelloResult = Object.freeze({ state: 'need-more' })

/**
 * Parses a ClientHello from bytes that arrive in pieces. Feed every chunk to `push`, and the
 * result turns from `need-more` to `done` or `invalid` and stays there. Malformed input gives
 * `invalid` rather than an exception. While it waits, the parser buffers less than one TLS
 * record beyond the ClientHello fragments it has read.
 */
export class ClientHelloParser {
  readonly #maxHelloBytes: number
  readonly #pending = new ByteQueue()
  readonly #fragments: Buffer[] = []
  #handshakeBytes = 0
  #helloLength: number | undefined
  #records = 0
  #bytesSeen = 0
  #result: ClientHelloResult = NEED_MORE

  constructor(options: ClientHelloParserOptions = {}) {
    this.#maxHelloBytes = options.maxHelloBytes ?? DEFAULT_MAX_HELLO_BYTES
  }

  /** Total bytes pushed so far. */
  get bytesSeen(): number {
    return this.#bytesSeen
  }

  /** Adds the next chunk of downstream bytes and returns the parse state. */
  push(chunk: Buffer): ClientHelloResult {
    if (this.#result.state !== 'need-more') return this.#result
    this.#bytesSeen += chunk.length
    this.#pending.push(chunk)
    this.#result = this.#consumeRecords()
    return this.#result
  }

  #consumeRecords(): ClientHelloResult {
    for (;;) {
      const headerProblem = this.#checkRecordHeader()
      if (headerProblem !== undefined) return invalid(headerProblem)
      if (this.#pending.length < RECORD_HEADER_BYTES) return NEED_MORE

      const header = this.#pending.peek(RECORD_HEADER_BYTES)
      const fragmentLength = header.readUInt16BE(3)
      if (this.#pending.length < RECORD_HEADER_BYTES + fragmentLength) return NEED_MORE

      this.#pending.take(RECORD_HEADER_BYTES)
      this.#fragments.push(this.#pending.take(fragmentLength))
      this.#handshakeBytes += fragmentLength
      this.#records += 1
      const result = this.#tryParseHello()
      if (result !== NEED_MORE) return result
      if (this.#records >= MAX_RECORDS) {
        return invalid(`ClientHello spans more than ${MAX_RECORDS} records`)
      }
    }
  }

  // Checks as many header bytes as have arrived, so non-TLS traffic fails on its first byte.
  #checkRecordHeader(): string | undefined {
    const available = Math.min(this.#pending.length, RECORD_HEADER_BYTES)
    if (available === 0) return undefined
    const header = this.#pending.peek(available)
    const contentType = header[0] ?? 0
    if (contentType !== CONTENT_TYPE_HANDSHAKE) {
      if (this.#records === 0 && (contentType & 0x80) !== 0) {
        return 'SSLv2-style ClientHello is not supported'
      }
      const hex = contentType.toString(16).padStart(2, '0')
      return this.#records === 0
        ? `not a TLS handshake record (first byte 0x${hex})`
        : `record of content type 0x${hex} inside the ClientHello`
    }
    if (available >= 2 && header[1] !== 3) return `unsupported record version major ${header[1]}`
    if (available < RECORD_HEADER_BYTES) return undefined

    const fragmentLength = header.readUInt16BE(3)
    // RFC 8446 §5.1: handshake fragments must not be empty.
    if (fragmentLength === 0) return 'empty handshake record'
    if (fragmentLength > MAX_RECORD_BYTES) {
      return `record length ${fragmentLength} exceeds ${MAX_RECORD_BYTES}`
    }
    return undefined
  }

  #tryParseHello(): ClientHelloResult {
    if (this.#helloLength === undefined) {
      if (this.#handshakeBytes < HANDSHAKE_HEADER_BYTES) return NEED_MORE
      const header = Buffer.concat(this.#fragments).subarray(0, HANDSHAKE_HEADER_BYTES)
      if (header[0] !== HANDSHAKE_CLIENT_HELLO) {
        return invalid(`handshake type ${header[0]} is not ClientHello`)
      }
      const length = header.readUIntBE(1, 3)
      if (length > this.#maxHelloBytes) {
        return invalid(`ClientHello of ${length} bytes exceeds the limit of ${this.#maxHelloBytes}`)
      }
      this.#helloLength = length
    }

    if (this.#handshakeBytes < HANDSHAKE_HEADER_BYTES + this.#helloLength) return NEED_MORE
    const start = HANDSHAKE_HEADER_BYTES
    const body = Buffer.concat(this.#fragments).subarray(start, start + this.#helloLength)
    return parseClientHelloBody(body)
  }
}

/** Parses a complete ClientHello that is already in one buffer, starting at the record header. */
export function parseClientHello(
  bytes: Buffer,
  options?: ClientHelloParserOptions,
): ClientHelloResult {
  return new ClientHelloParser(options).push(bytes)
}

function invalid(reason: string): ClientHelloResult {
  return { state: 'invalid', reason }
}

/** Parses the ClientHello body (RFC 8446 §4.1.2, which keeps the TLS 1.2 layout). */
function parseClientHelloBody(body: Buffer): ClientHelloResult {
  const reader = new Reader(body)
  const version = reader.u16()
  if (version === undefined || version >> 8 !== 3) {
    return invalid('ClientHello has an unsupported version')
  }
  if (reader.skip(32) === undefined) return invalid('ClientHello truncated in random')

  const sessionIdLength = reader.u8()
  if (sessionIdLength === undefined || sessionIdLength > 32) {
    return invalid('invalid session id length')
  }
  if (reader.skip(sessionIdLength) === undefined) {
    return invalid('ClientHello truncated in session id')
  }

  const suitesLength = reader.u16()
  if (suitesLength === undefined || suitesLength < 2 || suitesLength % 2 !== 0) {
    return invalid('invalid cipher suites length')
  }
  if (reader.skip(suitesLength) === undefined) {
    return invalid('ClientHello truncated in cipher suites')
  }

  const compressionLength = reader.u8()
  if (compressionLength === undefined || compressionLength < 1) {
    return invalid('invalid compression methods length')
  }
  if (reader.skip(compressionLength) === undefined) {
    return invalid('ClientHello truncated in compression methods')
  }

  // A ClientHello without extensions is valid TLS 1.2 (RFC 5246 §7.4.1.2) and has no SNI.
  if (reader.remaining === 0) return { state: 'done' }
  const extensionsLength = reader.u16()
  if (extensionsLength === undefined || extensionsLength !== reader.remaining) {
    return invalid('extensions length does not match the ClientHello length')
  }
  return parseExtensions(new Reader(reader.take(extensionsLength) ?? Buffer.alloc(0)))
}

function parseExtensions(reader: Reader): ClientHelloResult {
  const seen = new Set<number>()
  const result: { state: 'done'; serverName?: string; alpn?: string[] } = { state: 'done' }
  while (reader.remaining > 0) {
    const type = reader.u16()
    const length = reader.u16()
    const data = length === undefined ? undefined : reader.take(length)
    if (type === undefined || data === undefined) return invalid('extension truncated')
    // RFC 8446 §4.2: there must not be more than one extension of the same type.
    if (seen.has(type)) return invalid(`duplicate extension ${type}`)
    seen.add(type)

    if (type === EXTENSION_SERVER_NAME) {
      const serverName = parseServerName(new Reader(data))
      if (serverName.error !== undefined) return invalid(serverName.error)
      if (serverName.name !== undefined) result.serverName = serverName.name
    } else if (type === EXTENSION_ALPN) {
      const alpn = parseAlpn(new Reader(data))
      if (typeof alpn === 'string') return invalid(alpn)
      result.alpn = alpn
    }
  }
  return result
}

/** Parses the server_name extension (RFC 6066 §3) and returns the host_name entry. */
function parseServerName(reader: Reader): { name?: string; error?: string } {
  const listLength = reader.u16()
  if (listLength === undefined || listLength === 0 || listLength !== reader.remaining) {
    return { error: 'invalid server name list length' }
  }

  let name: string | undefined
  while (reader.remaining > 0) {
    const nameType = reader.u8()
    const length = reader.u16()
    const bytes = length === undefined ? undefined : reader.take(length)
    if (nameType === undefined || bytes === undefined) {
      return { error: 'server name entry truncated' }
    }
    if (nameType !== NAME_TYPE_HOST_NAME) continue
    // RFC 6066 §3: at most one name of each name type.
    if (name !== undefined) return { error: 'more than one host_name in server name list' }
    name = validateHostName(bytes)
    if (name === undefined) return { error: 'invalid host name in server name extension' }
  }
  return name === undefined ? {} : { name }
}

const HOST_NAME_PATTERN = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/

// RFC 6066 §3: ASCII, without a trailing dot. A trailing dot is tolerated and removed
// because the name only selects a route here.
function validateHostName(bytes: Buffer): string | undefined {
  if (bytes.length === 0 || bytes.length > MAX_HOST_NAME_BYTES) return undefined
  let name = bytes.toString('latin1').toLowerCase()
  if (name.endsWith('.')) name = name.slice(0, -1)
  return HOST_NAME_PATTERN.test(name) ? name : undefined
}

/** Parses the application_layer_protocol_negotiation extension (RFC 7301 §3.1). */
function parseAlpn(reader: Reader): string[] | string {
  const listLength = reader.u16()
  if (listLength === undefined || listLength < 2 || listLength !== reader.remaining) {
    return 'invalid ALPN list length'
  }
  const protocols: string[] = []
  while (reader.remaining > 0) {
    const length = reader.u8()
    const bytes = length === undefined || length === 0 ? undefined : reader.take(length)
    if (bytes === undefined) return 'invalid ALPN protocol entry'
    protocols.push(bytes.toString('latin1'))
  }
  return protocols
}

/** Bounds-checked big-endian reads. Each returns undefined instead of reading past the end. */
class Reader {
  readonly #buffer: Buffer
  #offset = 0

  constructor(buffer: Buffer) {
    this.#buffer = buffer
  }

  get remaining(): number {
    return this.#buffer.length - this.#offset
  }

  u8(): number | undefined {
    if (this.remaining < 1) return undefined
    const value = this.#buffer.readUInt8(this.#offset)
    this.#offset += 1
    return value
  }

  u16(): number | undefined {
    if (this.remaining < 2) return undefined
    const value = this.#buffer.readUInt16BE(this.#offset)
    this.#offset += 2
    return value
  }

  take(length: number): Buffer | undefined {
    if (this.remaining < length) return undefined
    const bytes = this.#buffer.subarray(this.#offset, this.#offset + length)
    this.#offset += length
    return bytes
  }

  skip(length: number): true | undefined {
    return this.take(length) === undefined ? undefined : true
  }
}

/** Chunks waiting to be parsed. A read concatenates only the bytes it needs. */
class ByteQueue {
  #chunks: Buffer[] = []
  length = 0

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.#chunks.push(chunk)
    this.length += chunk.length
  }

  peek(count: number): Buffer {
    const first = this.#chunks[0]
    if (first !== undefined && first.length >= count) return first.subarray(0, count)
    const merged = Buffer.concat(this.#chunks)
    this.#chunks = [merged]
    return merged.subarray(0, count)
  }

  take(count: number): Buffer {
    const bytes = this.peek(count)
    const first = this.#chunks[0]
    if (first !== undefined && first.length > count) this.#chunks[0] = first.subarray(count)
    else this.#chunks.shift()
    this.length -= count
    return bytes
  }
}
