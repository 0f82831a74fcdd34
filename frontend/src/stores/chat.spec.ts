// The chat stores together with the socket, against a fake server (fetch + WebSocket):
// sending states, dedupe by seq and client_msg_id, catch-up after gaps and reconnects.
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { configureClient } from '@/api/client'
import type { Conversation, Message, User } from '@/api/types'
import { socket } from '@/realtime/socket'
import { FakeWebSocket } from '@/test/fakeWebSocket'
import { useAuthStore } from './auth'
import { useContactsStore } from './contacts'
import { useConversationsStore } from './conversations'
import { contiguousTop, insertBySeq, SEND_TIMEOUT_MS, useMessagesStore } from './messages'
import { useRealtimeStore } from './realtime'

const ME = 1
const PEER = 2
const me: User = {
  id: ME, username: 'me', email: 'me@x.io', nickname: '我', avatar_url: '', signature: '', gender: '',
  birthday: '', location: '', activated: true, created_at: '2026-01-01T00:00:00Z',
}

function m(seq: number, sender = PEER, conv = 10, extra: Partial<Message> = {}): Message {
  return {
    id: 1000 + seq, conversation_id: conv, seq, sender_id: sender, kind: 'text', content: `m${seq}`,
    client_msg_id: `c${seq}-${sender}`, created_at: new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString(), ...extra,
  }
}

/** A tiny in-memory server: conversation 10 (with PEER) and 11 (a group). */
class FakeServer {
  messages = new Map<number, Message[]>([[10, []], [11, []]])
  requests: string[] = []
  reads: { conv: number; seq: number }[] = []

  conv(id: number): Conversation {
    const list = this.messages.get(id)!
    const last = list[list.length - 1] ?? null
    return id === 10
      ? { id, type: 'private', peer: { id: PEER, username: 'peer', nickname: '对方', avatar_url: '', signature: '', gender: '', location: '', is_friend: true },
          last_message: last, last_seq: last?.seq ?? 0, read_seq: 0, unread: 0, updated_at: '2026-01-01T00:00:00Z' }
      : { id, type: 'group', group: { id: 3, name: '群', avatar_url: '', member_count: 3 }, last_message: last,
          last_seq: last?.seq ?? 0, read_seq: 0, unread: 0, updated_at: '2025-12-01T00:00:00Z' }
  }

  store(conv: number, msg: Omit<Message, 'seq' | 'id'>): Message {
    const list = this.messages.get(conv)!
    const seq = list.length + 1
    const full = { ...msg, seq, id: 5000 + conv * 100 + seq } as Message
    list.push(full)
    return full
  }

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), 'http://app')
    const method = init?.method ?? 'GET'
    this.requests.push(`${method} ${url.pathname}${url.search}`)
    const json = (status: number, body?: unknown) => new Response(body === undefined ? null : JSON.stringify(body), { status })
    if (url.pathname === '/api/v1/me') return json(200, me)
    if (url.pathname === '/api/v1/conversations') return json(200, { items: [this.conv(10), this.conv(11)] })
    if (url.pathname === '/api/v1/friends') return json(200, { items: [] })
    if (url.pathname === '/api/v1/friend-requests') return json(200, { items: [] })
    if (url.pathname === '/api/v1/groups') return json(200, { items: [] })
    let r = /^\/api\/v1\/conversations\/(\d+)\/messages$/.exec(url.pathname)
    if (r) {
      const list = this.messages.get(Number(r[1]))!
      const limit = Number(url.searchParams.get('limit') ?? 50)
      const after = url.searchParams.get('after_seq')
      const before = url.searchParams.get('before_seq')
      let items: Message[]
      if (after !== null) items = list.filter((x) => x.seq > Number(after)).slice(0, limit)
      else {
        const b = before !== null ? Number(before) : Infinity
        items = list.filter((x) => x.seq < b).slice(-limit)
      }
      return json(200, { items })
    }
    r = /^\/api\/v1\/conversations\/(\d+)\/read$/.exec(url.pathname)
    if (r) {
      this.reads.push({ conv: Number(r[1]), seq: JSON.parse(String(init?.body)).seq })
      return json(204)
    }
    return json(404, { error: { code: 'not_found', message: url.pathname } })
  }
}

describe('chat stores', () => {
  let server: FakeServer

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    localStorage.clear()
    FakeWebSocket.all = []
    server = new FakeServer()
    vi.stubGlobal('fetch', vi.fn(server.fetch))
    setActivePinia(createPinia())
    const auth = useAuthStore()
    auth.setSession('tok', null, me)
    configureClient({ getToken: () => auth.token, onUnauthorized: () => auth.handleUnauthorized() })
    socket.configure({ WebSocketImpl: FakeWebSocket as unknown as new (url: string) => WebSocket, random: () => 0.5 })
  })
  afterEach(() => {
    useRealtimeStore().stop()
    vi.unstubAllGlobals()
    vi.useRealTimers()
  })

  /** Starts the realtime store and lets the first resync finish. */
  async function connect(): Promise<FakeWebSocket> {
    useRealtimeStore().start()
    const ws = FakeWebSocket.last()
    expect(ws.url).toMatch(/\/ws\?token=tok$/)
    ws.open()
    await vi.advanceTimersByTimeAsync(200)
    await flush()
    return ws
  }

  async function flush(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve()
    await vi.advanceTimersByTimeAsync(0)
  }

  it('helpers: insertBySeq dedupes and keeps order; contiguousTop stops at a gap', () => {
    const items: Message[] = []
    expect(insertBySeq(items, m(3))).toBe(true)
    expect(insertBySeq(items, m(1))).toBe(true)
    expect(insertBySeq(items, m(3))).toBe(false)
    expect(insertBySeq(items, m(2))).toBe(true)
    expect(items.map((x) => x.seq)).toEqual([1, 2, 3])
    insertBySeq(items, m(5))
    expect(contiguousTop(items)).toBe(3)
    expect(contiguousTop([])).toBe(0)
  })

  it('loads the conversation list newest first with the total unread', async () => {
    server.store(11, m(3, PEER, 11))
    server.store(10, m(5, PEER, 10))
    await connect()
    const conv = useConversationsStore()
    expect(conv.sorted.map((c) => c.id)).toEqual([10, 11])
    // a new group message moves the group to the top and counts as unread
    const ws = FakeWebSocket.last()
    ws.push({ type: 'pong', data: {} }) // keeps the link alive
    const g = server.store(11, { ...m(0, PEER, 11), created_at: '2026-02-01T00:00:00Z' })
    ws.push({ type: 'message.new', data: { message: g } })
    expect(conv.sorted.map((c) => c.id)).toEqual([11, 10])
    expect(conv.byId.get(11)!.unread).toBe(1)
    expect(conv.totalUnread).toBe(1)
    // the same push again (e.g. overlapping with a fetch) counts once
    ws.push({ type: 'message.new', data: { message: g } })
    expect(conv.byId.get(11)!.unread).toBe(1)
  })

  it('shows an own message at once as sending, then sent on the ack', async () => {
    const ws = await connect()
    const msgs = useMessagesStore()
    await msgs.open(10)
    const local = msgs.sendText(10, '你好 <b>world</b>\n')!
    expect(local.status).toBe('sending')
    expect(msgs.state(10).pending).toHaveLength(1)
    expect(useConversationsStore().byId.get(10)!.last_message?.content).toBe('你好 <b>world</b>')
    const [frame] = ws.ofType('message.send')
    const data = frame!.data as { client_msg_id: string; kind: string; content: string }
    expect(data).toMatchObject({ conversation_id: 10, kind: 'text', content: '你好 <b>world</b>', client_msg_id: local.client_msg_id })
    const stored = server.store(10, { ...m(0, ME), client_msg_id: data.client_msg_id, content: data.content })
    ws.push({ type: 'ack', id: frame!.id, data: { message: stored } })
    await flush()
    expect(msgs.state(10).pending).toHaveLength(0)
    expect(msgs.state(10).items.map((x) => x.client_msg_id)).toEqual([local.client_msg_id])
    expect(msgs.receipt(10, stored)).toBe('sent')
  })

  it('a lone emoji is sent as kind emoji; a sticker as sticker:<name>', async () => {
    const ws = await connect()
    const msgs = useMessagesStore()
    msgs.sendText(10, '👍🏽')
    msgs.sendSticker(10, 'party')
    msgs.sendText(10, '👍 ok')
    expect(ws.ofType('message.send').map((f) => (f.data as { kind: string; content: string }))).toMatchObject([
      { kind: 'emoji', content: '👍🏽' },
      { kind: 'emoji', content: 'sticker:party' },
      { kind: 'text', content: '👍 ok' },
    ])
    expect(msgs.sendText(10, '  \n ')).toBeNull()
  })

  it('turns an unacked message into failed, and a retry resends the same client_msg_id', async () => {
    const ws = await connect()
    const msgs = useMessagesStore()
    await msgs.open(10)
    const local = msgs.sendText(10, 'hello')!
    await vi.advanceTimersByTimeAsync(SEND_TIMEOUT_MS)
    expect(local.status).toBe('failed')
    msgs.retry(10, local.client_msg_id)
    expect(local.status).toBe('sending')
    const frames = ws.ofType('message.send')
    expect(frames).toHaveLength(2)
    expect((frames[1]!.data as { client_msg_id: string }).client_msg_id).toBe(local.client_msg_id)
    const stored = server.store(10, { ...m(0, ME), client_msg_id: local.client_msg_id })
    ws.push({ type: 'ack', id: frames[1]!.id, data: { message: stored } })
    await flush()
    expect(msgs.state(10).pending).toHaveLength(0)
    expect(msgs.state(10).items).toHaveLength(1)
  })

  it('an error frame fails the message with its code; discard removes it', async () => {
    const ws = await connect()
    const msgs = useMessagesStore()
    const local = msgs.sendText(10, 'x')!
    ws.push({ type: 'error', id: ws.ofType('message.send')[0]!.id, data: { code: 'forbidden', message: 'not friends' } })
    await flush()
    expect(local.status).toBe('failed')
    expect(local.error).toBe('forbidden')
    msgs.discard(10, local.client_msg_id)
    expect(msgs.state(10).pending).toHaveLength(0)
  })

  it('loads history as you scroll up, until the first message', async () => {
    for (let i = 0; i < 70; i++) server.store(10, m(0))
    await connect()
    const msgs = useMessagesStore()
    await msgs.open(10)
    const s = msgs.state(10)
    expect(s.items.map((x) => x.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 41 + i))
    expect(s.hasMore).toBe(true)
    expect(await msgs.loadOlder(10)).toBe(30)
    expect(s.items[0]!.seq).toBe(11)
    expect(await msgs.loadOlder(10)).toBe(10)
    expect(s.hasMore).toBe(false)
    expect(s.items.map((x) => x.seq)).toEqual(Array.from({ length: 70 }, (_, i) => i + 1))
    expect(await msgs.loadOlder(10)).toBe(0)
  })

  it('a push with a gap fetches the missing messages by seq', async () => {
    server.store(10, m(0))
    const ws = await connect()
    const msgs = useMessagesStore()
    await msgs.open(10)
    const m2 = server.store(10, m(0))
    const m3 = server.store(10, m(0))
    const m4 = server.store(10, m(0))
    void m2
    void m3
    ws.push({ type: 'message.new', data: { message: m4 } }) // 2 and 3 were missed
    await flush()
    expect(msgs.state(10).items.map((x) => x.seq)).toEqual([1, 2, 3, 4])
    expect(server.requests).toContain('GET /api/v1/conversations/10/messages?after_seq=1&limit=100')
  })

  it('after a reconnect it fetches what was missed and resends unacked messages; nothing is duplicated', async () => {
    server.store(10, m(0))
    const ws1 = await connect()
    const msgs = useMessagesStore()
    const conv = useConversationsStore()
    await msgs.open(10)
    conv.activeId = 10
    const local = msgs.sendText(10, 'sent while the line drops')!
    ws1.drop()
    // Meanwhile, on the server: the peer says two things, and our message was stored
    // (its ack was lost).
    server.store(10, m(0))
    server.store(10, { ...m(0, ME), client_msg_id: local.client_msg_id, content: 'sent while the line drops' })
    server.store(10, m(0))
    await vi.advanceTimersByTimeAsync(500)
    const ws2 = FakeWebSocket.last()
    expect(ws2).not.toBe(ws1)
    ws2.open()
    // resent with the same client_msg_id
    const resent = ws2.ofType('message.send')
    expect(resent).toHaveLength(1)
    expect((resent[0]!.data as { client_msg_id: string }).client_msg_id).toBe(local.client_msg_id)
    await flush()
    await vi.advanceTimersByTimeAsync(200)
    await flush()
    // the catch-up brought 2..4, including our own message, which confirmed the pending one
    const s = msgs.state(10)
    expect(s.items.map((x) => x.seq)).toEqual([1, 2, 3, 4])
    expect(s.pending).toHaveLength(0)
    // the server's first ack arrives for the resend: still no duplicate
    ws2.push({ type: 'ack', id: resent[0]!.id, data: { message: server.messages.get(10)![2] } })
    ws2.push({ type: 'message.new', data: { message: server.messages.get(10)![3] } })
    await flush()
    expect(s.items.map((x) => x.seq)).toEqual([1, 2, 3, 4])
    expect(conv.byId.get(10)!.last_seq).toBe(4)
  })

  it('read frames: the peer’s mark own messages read; my other device’s clear the unread count', async () => {
    const ws = await connect()
    const msgs = useMessagesStore()
    const conv = useConversationsStore()
    await msgs.open(10)
    const mine = server.store(10, { ...m(0, ME), client_msg_id: 'own' })
    ws.push({ type: 'message.new', data: { message: mine } })
    const theirs = server.store(10, m(0))
    ws.push({ type: 'message.new', data: { message: theirs } })
    expect(conv.byId.get(10)!.unread).toBe(1)
    ws.push({ type: 'read', data: { conversation_id: 10, user_id: PEER, seq: 1 } })
    expect(msgs.receipt(10, mine)).toBe('read')
    ws.push({ type: 'read', data: { conversation_id: 10, user_id: ME, seq: 2 } })
    expect(conv.byId.get(10)!.unread).toBe(0)
  })

  it('presence makes own messages delivered; typing shows for a few seconds', async () => {
    const ws = await connect()
    const msgs = useMessagesStore()
    const conv = useConversationsStore()
    await msgs.open(10)
    const mine = server.store(10, { ...m(0, ME), client_msg_id: 'own' })
    ws.push({ type: 'message.new', data: { message: mine } })
    expect(msgs.receipt(10, mine)).toBe('sent')
    ws.push({ type: 'presence', data: { user_id: PEER, online: true } })
    expect(useContactsStore().online[PEER]).toBe(true)
    expect(msgs.receipt(10, mine)).toBe('delivered')
    ws.push({ type: 'typing', data: { conversation_id: 10, user_id: PEER } })
    expect(conv.typingIn(10)).toBe(PEER)
    await vi.advanceTimersByTimeAsync(6_000)
    expect(conv.typingIn(10)).toBeNull()
  })

  it('marking read clears the badge at once and tells the server once', async () => {
    server.store(10, m(0))
    server.store(10, m(0))
    await connect()
    const conv = useConversationsStore()
    conv.items = conv.items.map((c) => (c.id === 10 ? { ...c, unread: 2 } : c))
    conv.markRead(10, 1)
    conv.markRead(10, 2)
    expect(conv.byId.get(10)!.unread).toBe(0)
    await vi.advanceTimersByTimeAsync(400)
    expect(server.reads).toEqual([{ conv: 10, seq: 2 }])
  })

  it('typing frames are throttled', async () => {
    const ws = await connect()
    const msgs = useMessagesStore()
    msgs.typing(10)
    msgs.typing(10)
    await vi.advanceTimersByTimeAsync(3_000)
    msgs.typing(10)
    expect(ws.ofType('typing')).toHaveLength(2)
  })
})
