import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Message } from '@/api/types'
import { FakeWebSocket } from '@/test/fakeWebSocket'
import { CLOSE_TOKEN_REVOKED, RealtimeSocket, SocketError } from './socket'

function msg(seq: number, clientMsgId: string, conversation_id = 5): Message {
  return { id: 100 + seq, conversation_id, seq, sender_id: 1, kind: 'text', content: 'hi', client_msg_id: clientMsgId, created_at: '2026-01-01T00:00:00Z' }
}

describe('RealtimeSocket', () => {
  let s: RealtimeSocket

  beforeEach(() => {
    vi.useFakeTimers()
    FakeWebSocket.all = []
    s = new RealtimeSocket({
      url: () => 'ws://server/ws?token=abc',
      WebSocketImpl: FakeWebSocket as unknown as new (url: string) => WebSocket,
      random: () => 0.5, // no jitter unless a test says so
    })
  })
  afterEach(() => {
    s.stop()
    vi.useRealTimers()
  })

  it('connects with the token and reports the status', () => {
    const statuses: string[] = []
    s.onStatus((x) => statuses.push(x))
    s.start()
    expect(FakeWebSocket.last().url).toBe('ws://server/ws?token=abc')
    FakeWebSocket.last().open()
    expect(s.status).toBe('open')
    expect(statuses).toEqual(['connecting', 'open'])
  })

  it('does not connect without a session', () => {
    const t = new RealtimeSocket({ url: () => null, WebSocketImpl: FakeWebSocket as unknown as new (url: string) => WebSocket })
    t.start()
    expect(FakeWebSocket.all).toHaveLength(0)
    expect(t.status).toBe('stopped')
  })

  it('reconnects with exponential backoff, capped, and resets it after a success', () => {
    s.start()
    const delays: number[] = []
    for (let i = 0; i < 8; i++) {
      const before = FakeWebSocket.all.length
      FakeWebSocket.last().drop()
      expect(s.status).toBe('waiting')
      let waited = 0
      while (FakeWebSocket.all.length === before) {
        vi.advanceTimersByTime(100)
        waited += 100
      }
      delays.push(waited)
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000])
    FakeWebSocket.last().open()
    FakeWebSocket.last().drop()
    const before = FakeWebSocket.all.length
    vi.advanceTimersByTime(500)
    expect(FakeWebSocket.all.length).toBe(before + 1)
  })

  it('adds ±50 % jitter to the backoff', () => {
    const low = new RealtimeSocket({ url: () => 'x', random: () => 0 })
    const high = new RealtimeSocket({ url: () => 'x', random: () => 0.999999 })
    expect(low.backoffDelay(0)).toBe(250)
    expect(high.backoffDelay(0)).toBe(750)
    expect(low.backoffDelay(3)).toBe(2000)
    expect(high.backoffDelay(10)).toBe(45000)
    // spread over many draws stays inside the band
    const r = new RealtimeSocket({ url: () => 'x' })
    for (let i = 0; i < 200; i++) {
      const d = r.backoffDelay(2)
      expect(d).toBeGreaterThanOrEqual(1000)
      expect(d).toBeLessThanOrEqual(3000)
    }
  })

  it('tells onOpen listeners whether it was a reconnect', () => {
    const seen: boolean[] = []
    s.onOpen((re) => seen.push(re))
    s.start()
    FakeWebSocket.last().open()
    FakeWebSocket.last().drop()
    vi.advanceTimersByTime(500)
    FakeWebSocket.last().open()
    expect(seen).toEqual([false, true])
  })

  it('pings after a quiet interval and reconnects when no pong comes', () => {
    s.start()
    const ws = FakeWebSocket.last()
    ws.open()
    vi.advanceTimersByTime(19_999)
    expect(ws.ofType('ping')).toHaveLength(0)
    vi.advanceTimersByTime(1)
    const ping = ws.ofType('ping')
    expect(ping).toHaveLength(1)
    ws.push({ type: 'pong', id: ping[0]!.id, data: {} })
    vi.advanceTimersByTime(15_000)
    expect(ws.closed).toBe(false)
    vi.advanceTimersByTime(5_000) // second ping, never answered
    expect(ws.ofType('ping')).toHaveLength(2)
    vi.advanceTimersByTime(10_000)
    expect(ws.closed).toBe(true)
    expect(s.status).toBe('waiting')
    vi.advanceTimersByTime(500)
    expect(FakeWebSocket.all).toHaveLength(2)
  })

  it('gives up a connection attempt that never opens', () => {
    s.start()
    vi.advanceTimersByTime(15_000)
    expect(FakeWebSocket.all[0]!.closed).toBe(true)
    expect(s.status).toBe('waiting')
    expect(s.failedAttempts).toBe(1)
  })

  it('dispatches frames by type and ignores garbage', () => {
    const got: unknown[] = []
    s.on('message.new', (d) => got.push(d))
    s.start()
    const ws = FakeWebSocket.last()
    ws.open()
    ws.onmessage?.({ data: 'not json' })
    ws.onmessage?.({ data: '{"no":"type"}' })
    ws.push({ type: 'message.new', data: { message: msg(1, 'a') } })
    expect(got).toEqual([{ message: msg(1, 'a') }])
  })

  it('resolves a sent message on its ack', async () => {
    s.start()
    const ws = FakeWebSocket.last()
    ws.open()
    const p = s.sendMessage({ conversation_id: 5, client_msg_id: 'cm-1', kind: 'text', content: 'hi' })
    const [frame] = ws.ofType('message.send')
    expect(frame!.data).toEqual({ conversation_id: 5, client_msg_id: 'cm-1', kind: 'text', content: 'hi' })
    expect(s.unacked).toEqual(['cm-1'])
    ws.push({ type: 'ack', id: frame!.id, data: { message: msg(7, 'cm-1') } })
    await expect(p).resolves.toMatchObject({ seq: 7, client_msg_id: 'cm-1' })
    expect(s.unacked).toEqual([])
  })

  it('keeps messages sent while offline and sends them once connected', async () => {
    s.start()
    const p = s.sendMessage({ conversation_id: 5, client_msg_id: 'offline-1', kind: 'text', content: 'later' })
    expect(FakeWebSocket.last().sent).toHaveLength(0)
    FakeWebSocket.last().open()
    const [frame] = FakeWebSocket.last().ofType('message.send')
    expect(frame!.data).toMatchObject({ client_msg_id: 'offline-1' })
    FakeWebSocket.last().push({ type: 'ack', id: frame!.id, data: { message: msg(3, 'offline-1') } })
    await expect(p).resolves.toMatchObject({ seq: 3 })
  })

  it('resends every unacked message with the same client_msg_id after a reconnect, in order', async () => {
    s.start()
    const ws1 = FakeWebSocket.last()
    ws1.open()
    const a = s.sendMessage({ conversation_id: 5, client_msg_id: 'A', kind: 'text', content: '1' })
    const b = s.sendMessage({ conversation_id: 5, client_msg_id: 'B', kind: 'text', content: '2' })
    const c = s.sendMessage({ conversation_id: 5, client_msg_id: 'C', kind: 'text', content: '3' })
    // A is acked; the connection dies before B and C are.
    ws1.push({ type: 'ack', id: ws1.ofType('message.send')[0]!.id, data: { message: msg(1, 'A') } })
    await expect(a).resolves.toMatchObject({ seq: 1 })
    ws1.drop()
    vi.advanceTimersByTime(500)
    const ws2 = FakeWebSocket.last()
    ws2.open()
    const resent = ws2.ofType('message.send')
    expect(resent.map((f) => (f.data as { client_msg_id: string }).client_msg_id)).toEqual(['B', 'C'])
    // The server answers the resend of a stored message with its first ack.
    ws2.push({ type: 'ack', id: resent[0]!.id, data: { message: msg(2, 'B') } })
    ws2.push({ type: 'ack', id: resent[1]!.id, data: { message: msg(3, 'C') } })
    await expect(b).resolves.toMatchObject({ seq: 2 })
    await expect(c).resolves.toMatchObject({ seq: 3 })
  })

  it('a retry with the same client_msg_id sends again and shares the promise', async () => {
    s.start()
    const ws = FakeWebSocket.last()
    ws.open()
    const first = s.sendMessage({ conversation_id: 5, client_msg_id: 'R', kind: 'text', content: 'x' })
    const again = s.sendMessage({ conversation_id: 5, client_msg_id: 'R', kind: 'text', content: 'x' })
    expect(again).toBe(first)
    const frames = ws.ofType('message.send')
    expect(frames).toHaveLength(2)
    expect(frames[0]!.id).not.toBe(frames[1]!.id)
    // an ack of the older frame still settles it (matched by client_msg_id)
    ws.push({ type: 'ack', id: frames[0]!.id, data: { message: msg(4, 'R') } })
    await expect(first).resolves.toMatchObject({ seq: 4 })
  })

  it('rejects on an error frame, retries transient errors', async () => {
    s.start()
    const ws = FakeWebSocket.last()
    ws.open()
    const bad = s.sendMessage({ conversation_id: 9, client_msg_id: 'F', kind: 'text', content: 'x' })
    ws.push({ type: 'error', id: ws.ofType('message.send')[0]!.id, data: { code: 'forbidden', message: 'not a member' } })
    await expect(bad).rejects.toEqual(new SocketError('forbidden', 'not a member'))
    expect(s.unacked).toEqual([])

    const slow = s.sendMessage({ conversation_id: 5, client_msg_id: 'T', kind: 'text', content: 'x' })
    ws.push({ type: 'error', id: ws.ofType('message.send')[1]!.id, data: { code: 'rate_limited', message: 'slow down' } })
    expect(s.unacked).toEqual(['T'])
    vi.advanceTimersByTime(2_000)
    const retried = ws.ofType('message.send')[2]!
    expect((retried.data as { client_msg_id: string }).client_msg_id).toBe('T')
    ws.push({ type: 'ack', id: retried.id, data: { message: msg(8, 'T') } })
    await expect(slow).resolves.toMatchObject({ seq: 8 })
  })

  it('stops for good when the server revokes the token', () => {
    const closes: number[] = []
    s.onClose((code) => closes.push(code))
    s.start()
    FakeWebSocket.last().open()
    const p = s.sendMessage({ conversation_id: 5, client_msg_id: 'X', kind: 'text', content: 'x' })
    FakeWebSocket.last().drop(CLOSE_TOKEN_REVOKED)
    expect(closes).toEqual([CLOSE_TOKEN_REVOKED])
    expect(s.status).toBe('stopped')
    vi.advanceTimersByTime(60_000)
    expect(FakeWebSocket.all).toHaveLength(1)
    return expect(p).rejects.toMatchObject({ code: 'stopped' })
  })

  it('reconnectNow skips the wait; typing frames only go while open', () => {
    s.start()
    expect(s.send('typing', { conversation_id: 5 })).toBe(false)
    FakeWebSocket.last().drop()
    expect(s.status).toBe('waiting')
    s.reconnectNow()
    expect(FakeWebSocket.all).toHaveLength(2)
    FakeWebSocket.last().open()
    expect(s.send('typing', { conversation_id: 5 })).toBe(true)
    expect(FakeWebSocket.last().ofType('typing')[0]!.data).toEqual({ conversation_id: 5 })
  })
})
