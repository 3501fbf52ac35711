import { createServer, type AddressInfo, type Server } from 'node:net'
import { connect, type ConnectionOptions } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ClientHelloParser,
  parseClientHello,
  type ClientHelloResult,
} from '../../../src/proxy/client-hello.js'

let rawServer: Server
let port: number
let withSni: Buffer
let withoutSni: Buffer
let withTls12: Buffer

/** Returns the first TLS record a client sends, read by a plain TCP server. */
function captureClientHello(options: ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    rawServer.once('connection', (socket) => {
      const chunks: Buffer[] = []
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        const bytes = Buffer.concat(chunks)
        if (bytes.length >= 5 && bytes.length >= 5 + bytes.readUInt16BE(3)) {
          socket.destroy()
          resolve(bytes.subarray(0, 5 + bytes.readUInt16BE(3)))
        }
      })
      socket.on('error', reject)
    })
    const client = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options })
    client.on('error', () => client.destroy())
  })
}

/** Re-frames the handshake message of a one-record ClientHello into records of `size` bytes. */
function splitIntoRecords(hello: Buffer, size: number): Buffer {
  const message = hello.subarray(5)
  const records: Buffer[] = []
  for (let offset = 0; offset < message.length; offset += size) {
    const fragment = message.subarray(offset, offset + size)
    const header = Buffer.from([22, 3, 1, 0, 0])
    header.writeUInt16BE(fragment.length, 3)
    records.push(header, fragment)
  }
  return Buffer.concat(records)
}

function feed(chunks: readonly Buffer[]): ClientHelloResult[] {
  const parser = new ClientHelloParser()
  return chunks.map((chunk) => parser.push(chunk))
}

/** Deterministic PRNG (mulberry32) so that every fuzz run checks the same inputs. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

beforeAll(async () => {
  rawServer = createServer()
  await new Promise<void>((resolve) => rawServer.listen(0, '127.0.0.1', resolve))
  port = (rawServer.address() as AddressInfo).port
  withSni = await captureClientHello({ servername: 'api.example.test', ALPNProtocols: ['h2', 'http/1.1'] })
  withoutSni = await captureClientHello({})
  withTls12 = await captureClientHello({ servername: 'Legacy.Example.Test', maxVersion: 'TLSv1.2' })
})

afterAll(async () => {
  await new Promise((resolve) => rawServer.close(resolve))
})

describe('ClientHelloParser on captured hellos', () => {
  it('reads SNI and ALPN', () => {
    expect(parseClientHello(withSni)).toEqual({
      state: 'done',
      serverName: 'api.example.test',
      alpn: ['h2', 'http/1.1'],
    })
  })

  it('reads a hello without SNI', () => {
    expect(parseClientHello(withoutSni)).toEqual({ state: 'done' })
  })

  it('lower-cases the server name', () => {
    expect(parseClientHello(withTls12)).toMatchObject({ state: 'done', serverName: 'legacy.example.test' })
  })

  it('counts the bytes pushed', () => {
    const parser = new ClientHelloParser()
    parser.push(withSni.subarray(0, 10))
    parser.push(withSni.subarray(10))

    expect(parser.bytesSeen).toBe(withSni.length)
  })

  it('keeps the final result after more bytes', () => {
    const parser = new ClientHelloParser()
    const first = parser.push(withSni)

    expect(parser.push(Buffer.from('garbage'))).toBe(first)
  })
})

describe('ClientHelloParser with split input', () => {
  it('gives the same result at every split point', () => {
    const expected = parseClientHello(withSni)
    for (let split = 1; split < withSni.length; split++) {
      const results = feed([withSni.subarray(0, split), withSni.subarray(split)])

      expect(results[0]).toEqual({ state: 'need-more' })
      expect(results[1]).toEqual(expected)
    }
  })

  it('accepts one byte at a time', () => {
    const bytes = [...withSni].map((byte) => Buffer.from([byte]))
    const results = feed(bytes)

    expect(results.slice(0, -1).every((result) => result.state === 'need-more')).toBe(true)
    expect(results.at(-1)).toEqual(parseClientHello(withSni))
  })

  it('accepts the hello split into several records', () => {
    const messageLength = withSni.length - 5
    // The smallest size keeps the record count at the parser's limit of 64.
    for (const size of [Math.ceil(messageLength / 64), 50, 200, 1000]) {
      const reframed = splitIntoRecords(withSni, size)

      expect(parseClientHello(reframed)).toEqual(parseClientHello(withSni))
    }
  })

  it('accepts records split across segments at every point', () => {
    const reframed = splitIntoRecords(withSni, 100)
    const expected = parseClientHello(withSni)
    for (let split = 1; split < reframed.length; split++) {
      const results = feed([reframed.subarray(0, split), reframed.subarray(split)])

      expect(results[1]).toEqual(expected)
    }
  })

  it('rejects a hello spread over too many records', () => {
    const result = parseClientHello(splitIntoRecords(withSni, 1))

    expect(withSni.length).toBeGreaterThan(70)
    expect(result).toEqual({ state: 'invalid', reason: 'ClientHello spans more than 64 records' })
  })
})

describe('ClientHelloParser on bad input', () => {
  it('asks for more on every truncation', () => {
    for (let length = 0; length < withSni.length; length++) {
      expect(parseClientHello(withSni.subarray(0, length)).state).toBe('need-more')
    }
  })

  it.each([
    ['HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), /first byte 0x47/],
    ['SSLv2 hello', Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]), /SSLv2/],
    ['alert record', Buffer.from([21, 3, 3, 0, 2, 2, 40]), /first byte 0x15/],
    ['bad record version', Buffer.from([22, 2, 0, 0, 4]), /record version/],
    ['empty record', Buffer.from([22, 3, 1, 0, 0]), /empty/],
    ['oversized record', Buffer.from([22, 3, 1, 0x40, 0x01]), /record length 16385/],
    ['ServerHello', Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0]), /not ClientHello/],
  ])('rejects %s', (_name, bytes, reason) => {
    const result = parseClientHello(bytes)

    expect(result.state).toBe('invalid')
    expect(result.state === 'invalid' ? result.reason : '').toMatch(reason)
  })

  it('rejects non-TLS bytes on the first byte', () => {
    expect(parseClientHello(Buffer.from('G')).state).toBe('invalid')
  })

  it('rejects a hello above the size limit', () => {
    const header = Buffer.from([22, 3, 1, 0, 4, 1, 0x01, 0x00, 0x00])

    expect(parseClientHello(header, { maxHelloBytes: 1024 })).toEqual({
      state: 'invalid',
      reason: 'ClientHello of 65536 bytes exceeds the limit of 1024',
    })
  })

  it('rejects a record of another type between hello records', () => {
    const reframed = splitIntoRecords(withSni, 100)
    const alert = Buffer.from([21, 3, 3, 0, 2, 2, 40])
    const mixed = Buffer.concat([reframed.subarray(0, 105), alert, reframed.subarray(105)])

    expect(parseClientHello(mixed)).toMatchObject({ state: 'invalid' })
  })

  it('rejects a corrupted extensions length', () => {
    const bytes = Buffer.from(withoutSni)
    const extensionsOffset = extensionsLengthOffset(bytes)
    bytes.writeUInt16BE(bytes.readUInt16BE(extensionsOffset) + 1, extensionsOffset)

    expect(parseClientHello(bytes)).toMatchObject({ state: 'invalid' })
  })

  it('survives random mutations without throwing', () => {
    const random = seededRandom(0x5eed)
    const states = new Set<string>()
    for (let round = 0; round < 3000; round++) {
      const bytes = Buffer.from(withSni)
      const flips = 1 + Math.floor(random() * 4)
      for (let i = 0; i < flips; i++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
      }
      const cut = random() < 0.2 ? Math.floor(random() * bytes.length) : bytes.length
      const result = parseClientHello(bytes.subarray(0, cut))
      states.add(result.state)

      if (result.state === 'done' && result.serverName !== undefined) {
        expect(result.serverName).toMatch(/^[a-z0-9_.-]+$/)
      }
    }
    expect(states).toEqual(new Set(['done', 'invalid', 'need-more']))
  })

  it('survives random bytes after a valid record header', () => {
    const random = seededRandom(42)
    for (let round = 0; round < 1000; round++) {
      const body = Buffer.alloc(1 + Math.floor(random() * 300))
      for (let i = 0; i < body.length; i++) body[i] = Math.floor(random() * 256)
      body[0] = 1
      const header = Buffer.from([22, 3, 1, 0, 0])
      header.writeUInt16BE(body.length, 3)

      expect(() => parseClientHello(Buffer.concat([header, body]))).not.toThrow()
    }
  })
})

/** Finds the offset of the extensions length field in a one-record ClientHello. */
function extensionsLengthOffset(hello: Buffer): number {
  let offset = 5 + 4 + 2 + 32
  offset += 1 + (hello[offset] ?? 0)
  offset += 2 + hello.readUInt16BE(offset)
  offset += 1 + (hello[offset] ?? 0)
  return offset
}
