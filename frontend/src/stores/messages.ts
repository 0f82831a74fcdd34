// Messages per conversation: history pages (older ones as you scroll up), catch-up by
// seq after reconnects and gaps, live messages deduplicated by seq, and own messages
// that show at once as 'sending' and become sent — or 'failed', with retry.
import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import * as convApi from '@/api/conversations'
import { isApiError } from '@/api/client'
import { uploadImage, MAX_IMAGE_BYTES, type UploadHandle } from '@/api/uploads'
import type { ImageContent, Message, MessageKind } from '@/api/types'
import { socket, SocketError } from '@/realtime/socket'
import { isSingleEmoji, STICKER_PREFIX } from '@/utils/emoji'
import { uuid } from '@/utils/id'
import { useAuthStore } from './auth'
import { useConversationsStore } from './conversations'

/** Messages per history page. */
export const PAGE_SIZE = 30
/** Page size when catching up after a reconnect. */
export const CATCH_UP_SIZE = 100
/** An own message without an ack after this long shows as failed (it may still arrive). */
export const SEND_TIMEOUT_MS = 20_000
/** At most one typing frame per conversation in this time. */
export const TYPING_THROTTLE_MS = 3_000
/** Longest text message (the server's limit). */
export const TEXT_MAX = 4000

export type LocalStatus = 'uploading' | 'sending' | 'failed'

/** An own message not yet stored by the server. */
export interface LocalMessage extends Message {
  status: LocalStatus
  /** Upload progress 0..1 of an image. */
  progress: number
  /** A blob: URL showing the picked image until the upload is done. */
  localUrl: string
  /** Why it failed: an error code. */
  error: string
}

export interface ConvMessages {
  /** Stored messages in ascending seq, without duplicates. */
  items: Message[]
  /** Own messages not yet acked, in sending order (shown after items). */
  pending: LocalMessage[]
  loaded: boolean
  /** Whether older history exists before items[0]. */
  hasMore: boolean
  loadingOlder: boolean
  error: unknown
  /** Highest seq the peer(s) have read (from read frames). */
  peerReadSeq: number
  /** Highest seq known to have reached the peer's device. */
  deliveredSeq: number
}

const PEER_READ_KEY = 'lechat.peer_read'

function loadPeerReads(): Record<string, number> {
  try {
    const v = JSON.parse(localStorage.getItem(PEER_READ_KEY) ?? '{}')
    return v && typeof v === 'object' ? v : {}
  } catch {
    return {}
  }
}

/** Inserts m into items (ascending seq); false when that seq is held already. */
export function insertBySeq(items: Message[], m: Message): boolean {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (items[mid]!.seq < m.seq) lo = mid + 1
    else hi = mid
  }
  if (items[lo]?.seq === m.seq) return false
  items.splice(lo, 0, m)
  return true
}

/** The highest seq up to which items hold every message without a gap (0 when empty). */
export function contiguousTop(items: Message[]): number {
  if (!items.length) return 0
  let top = items[0]!.seq
  for (let i = 1; i < items.length; i++) {
    if (items[i]!.seq !== top + 1) break
    top = items[i]!.seq
  }
  return top
}

export const useMessagesStore = defineStore('messages', () => {
  const byConv = reactive<Record<number, ConvMessages>>({})
  /** Bumped on every change a message list shows (the view scrolls on it). */
  const version = ref(0)
  const catchUps = new Map<number, Promise<void>>()
  const uploads = new Map<string, UploadHandle>()
  const failTimers = new Map<string, ReturnType<typeof setTimeout>>()
  const lastTyping = new Map<number, number>()
  let peerReads = loadPeerReads()

  function myId(): number | undefined {
    return useAuthStore().user?.id
  }

  function state(convId: number): ConvMessages {
    let s = byConv[convId]
    if (!s) {
      byConv[convId] = {
        items: [],
        pending: [],
        loaded: false,
        hasMore: true,
        loadingOlder: false,
        error: null,
        peerReadSeq: peerReads[`${myId() ?? 0}:${convId}`] ?? 0,
        deliveredSeq: 0,
      }
      s = byConv[convId]!
    }
    return s
  }

  function reset(): void {
    for (const u of uploads.values()) u.abort()
    uploads.clear()
    for (const t of failTimers.values()) clearTimeout(t)
    failTimers.clear()
    for (const s of Object.values(byConv)) for (const p of s.pending) if (p.localUrl) URL.revokeObjectURL(p.localUrl)
    for (const k of Object.keys(byConv)) delete byConv[Number(k)]
    catchUps.clear()
    lastTyping.clear()
    peerReads = loadPeerReads()
  }

  /** Adds stored messages; drops ones held already and the pending copies they confirm. */
  function add(convId: number, msgs: Message[]): number {
    const s = state(convId)
    let added = 0
    for (const m of msgs) {
      if (insertBySeq(s.items, m)) added++
      if (m.client_msg_id && m.sender_id === myId()) {
        const i = s.pending.findIndex((p) => p.client_msg_id === m.client_msg_id)
        if (i >= 0) {
          const [p] = s.pending.splice(i, 1)
          settle(p!)
        }
      }
    }
    if (added) version.value++
    return added
  }

  function settle(p: LocalMessage): void {
    clearTimeout(failTimers.get(p.client_msg_id))
    failTimers.delete(p.client_msg_id)
    uploads.delete(p.client_msg_id)
    if (p.localUrl) {
      const url = p.localUrl
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
    }
  }

  /** Opens a conversation: the latest page the first time, else what was missed. */
  async function open(convId: number): Promise<void> {
    const s = state(convId)
    if (s.loaded) return catchUp(convId)
    s.error = null
    try {
      const page = await convApi.listMessages(convId, { limit: PAGE_SIZE })
      s.hasMore = page.length >= PAGE_SIZE
      add(convId, page)
      s.loaded = true
      version.value++
    } catch (err) {
      s.error = err
      throw err
    }
    // Anything that arrived between the page and now.
    const conv = useConversationsStore().byId.get(convId)
    if (conv && conv.last_seq > contiguousTop(s.items)) await catchUp(convId)
  }

  /** Loads the page before the oldest message held; returns how many came. */
  async function loadOlder(convId: number): Promise<number> {
    const s = state(convId)
    if (!s.loaded || !s.hasMore || s.loadingOlder) return 0
    const first = s.items[0]
    if (!first) {
      s.hasMore = false
      return 0
    }
    if (first.seq <= 1) {
      s.hasMore = false
      return 0
    }
    s.loadingOlder = true
    try {
      const page = await convApi.listMessages(convId, { beforeSeq: first.seq, limit: PAGE_SIZE })
      s.hasMore = page.length >= PAGE_SIZE
      return add(convId, page)
    } finally {
      s.loadingOlder = false
    }
  }

  /**
   * Fetches everything after the highest contiguous seq held, page by page until a
   * short page. Concurrent calls for a conversation share one run.
   */
  function catchUp(convId: number): Promise<void> {
    const s = state(convId)
    if (!s.loaded) return Promise.resolve()
    const running = catchUps.get(convId)
    if (running) return running
    const run = (async () => {
      try {
        for (let i = 0; i < 100; i++) {
          const after = contiguousTop(s.items)
          const page = await convApi.listMessages(convId, { afterSeq: after, limit: CATCH_UP_SIZE })
          add(convId, page)
          const conv = useConversationsStore()
          for (const m of page) conv.onMessage(m, m.sender_id === myId(), isVisible(convId))
          if (page.length < CATCH_UP_SIZE) break
        }
      } finally {
        catchUps.delete(convId)
      }
    })()
    catchUps.set(convId, run)
    return run
  }

  /** After a reconnect: catch up every loaded conversation the list says has more. */
  async function resync(): Promise<void> {
    const conv = useConversationsStore()
    const jobs: Promise<void>[] = []
    for (const [id, s] of Object.entries(byConv)) {
      const c = conv.byId.get(Number(id))
      if (!s.loaded) continue
      if (!c || c.last_seq > contiguousTop(s.items) || Number(id) === conv.activeId) jobs.push(catchUp(Number(id)).catch(() => undefined))
    }
    await Promise.all(jobs)
  }

  function isVisible(convId: number): boolean {
    const conv = useConversationsStore()
    return conv.activeId === convId && (typeof document === 'undefined' || document.visibilityState !== 'hidden')
  }

  /**
   * A message.new frame (or an ack). Returns false when its conversation is unknown to
   * the list (the caller reloads the list).
   */
  function receive(m: Message): boolean {
    const conv = useConversationsStore()
    const mine = m.sender_id === myId()
    const s = byConv[m.conversation_id]
    if (s?.loaded) {
      const top = contiguousTop(s.items)
      add(m.conversation_id, [m])
      if (!mine) s.deliveredSeq = Math.max(s.deliveredSeq, m.seq - 1)
      if (top && m.seq > top + 1) void catchUp(m.conversation_id).catch(() => undefined)
    } else if (s && mine) {
      add(m.conversation_id, [m])
    }
    return conv.onMessage(m, mine, isVisible(m.conversation_id))
  }

  // ---- sending ----

  function makeLocal(convId: number, kind: MessageKind, content: string | ImageContent): LocalMessage {
    const s = state(convId)
    const last = s.items[s.items.length - 1]
    const local = reactive<LocalMessage>({
      id: 0,
      conversation_id: convId,
      seq: last ? last.seq : 0,
      sender_id: myId() ?? 0,
      kind,
      content,
      client_msg_id: uuid(),
      created_at: new Date().toISOString(),
      status: 'sending',
      progress: 0,
      localUrl: '',
      error: '',
    }) as LocalMessage
    s.pending.push(local)
    version.value++
    useConversationsStore().onLocalMessage(local)
    return local
  }

  function dispatch(p: LocalMessage): void {
    p.status = 'sending'
    p.error = ''
    clearTimeout(failTimers.get(p.client_msg_id))
    failTimers.set(
      p.client_msg_id,
      setTimeout(() => {
        if (p.status === 'sending') {
          p.status = 'failed'
          p.error = 'timeout'
        }
      }, SEND_TIMEOUT_MS),
    )
    socket
      .sendMessage({ conversation_id: p.conversation_id, client_msg_id: p.client_msg_id, kind: p.kind as MessageKind, content: p.content })
      .then((m) => {
        const conv = useConversationsStore()
        add(p.conversation_id, [m])
        const s = state(p.conversation_id)
        const c = conv.byId.get(p.conversation_id)
        // The robot and an online peer have it the moment it is stored.
        if (c?.type === 'private' && (c.peer?.username === 'robot' || peerOnline(c.peer?.id))) s.deliveredSeq = Math.max(s.deliveredSeq, m.seq)
        conv.onMessage(m, true, true)
      })
      .catch((err: unknown) => {
        if (err instanceof SocketError && err.code === 'stopped') return
        const stillPending = state(p.conversation_id).pending.includes(p)
        if (!stillPending) return
        clearTimeout(failTimers.get(p.client_msg_id))
        p.status = 'failed'
        p.error = err instanceof SocketError ? err.code : 'internal'
      })
  }

  let peerOnline: (userId: number | undefined) => boolean = () => false
  /** Plugs in presence (from the contacts store) for the delivered state. */
  function setPresenceSource(fn: (userId: number | undefined) => boolean): void {
    peerOnline = fn
  }

  /** Sends text: a lone emoji goes as kind "emoji", the rest as "text". */
  function sendText(convId: number, text: string): LocalMessage | null {
    const body = text.replace(/\s+$/, '').replace(/^\n+/, '')
    if (!body.trim()) return null
    const kind: MessageKind = isSingleEmoji(body) ? 'emoji' : 'text'
    const p = makeLocal(convId, kind, kind === 'emoji' ? body.trim() : body)
    dispatch(p)
    return p
  }

  function sendSticker(convId: number, name: string): LocalMessage {
    const p = makeLocal(convId, 'emoji', `${STICKER_PREFIX}${name}`)
    dispatch(p)
    return p
  }

  /** Uploads an image with progress, then sends it; shows at once from a local preview. */
  function sendImage(convId: number, file: Blob, size?: { width: number; height: number }): LocalMessage {
    const p = makeLocal(convId, 'image', { url: '', thumb_url: '', width: size?.width ?? 0, height: size?.height ?? 0 })
    try {
      p.localUrl = URL.createObjectURL(file)
    } catch {
      p.localUrl = ''
    }
    startUpload(p, file)
    return p
  }

  const files = new Map<string, Blob>()

  function startUpload(p: LocalMessage, file: Blob): void {
    files.set(p.client_msg_id, file)
    p.status = 'uploading'
    p.error = ''
    p.progress = 0
    if (file.size > MAX_IMAGE_BYTES) {
      p.status = 'failed'
      p.error = 'payload_too_large'
      return
    }
    const handle = uploadImage(file, (f) => (p.progress = f))
    uploads.set(p.client_msg_id, handle)
    handle.promise.then(
      (img) => {
        uploads.delete(p.client_msg_id)
        files.delete(p.client_msg_id)
        if (!state(p.conversation_id).pending.includes(p)) return
        p.content = img
        dispatch(p)
      },
      (err: unknown) => {
        uploads.delete(p.client_msg_id)
        p.status = 'failed'
        p.error = isApiError(err) ? err.code : 'internal'
      },
    )
  }

  /** Sends a failed message again, with the same client_msg_id (never a duplicate). */
  function retry(convId: number, clientMsgId: string): void {
    const p = state(convId).pending.find((x) => x.client_msg_id === clientMsgId)
    if (!p || p.status !== 'failed') return
    const content = p.content as ImageContent
    if (p.kind === 'image' && !content.url) {
      const file = files.get(clientMsgId)
      if (file) startUpload(p, file)
      return
    }
    dispatch(p)
  }

  /** Drops a failed message from the screen. */
  function discard(convId: number, clientMsgId: string): void {
    const s = state(convId)
    const i = s.pending.findIndex((x) => x.client_msg_id === clientMsgId)
    if (i < 0) return
    const [p] = s.pending.splice(i, 1)
    uploads.get(clientMsgId)?.abort()
    files.delete(clientMsgId)
    settle(p!)
    version.value++
  }

  /** Tells the others we are typing, at most every few seconds. */
  function typing(convId: number, now = Date.now()): void {
    const last = lastTyping.get(convId) ?? 0
    if (now - last < TYPING_THROTTLE_MS) return
    if (socket.send('typing', { conversation_id: convId })) lastTyping.set(convId, now)
  }

  /** A `read` frame from another member: own messages up to seq show as read. */
  function onPeerRead(convId: number, seq: number): void {
    const s = state(convId)
    if (seq <= s.peerReadSeq) return
    s.peerReadSeq = seq
    s.deliveredSeq = Math.max(s.deliveredSeq, seq)
    peerReads[`${myId() ?? 0}:${convId}`] = seq
    try {
      localStorage.setItem(PEER_READ_KEY, JSON.stringify(peerReads))
    } catch {
      // storage blocked
    }
  }

  /** A peer came online: what was stored before now reaches them. */
  function onPeerOnline(convId: number, lastSeq: number): void {
    const s = byConv[convId]
    if (s) s.deliveredSeq = Math.max(s.deliveredSeq, lastSeq)
  }

  /** 'read', 'delivered' or 'sent' for an own stored message. */
  function receipt(convId: number, m: Message): 'read' | 'delivered' | 'sent' {
    const s = state(convId)
    if (s.peerReadSeq >= m.seq) return 'read'
    if (s.deliveredSeq >= m.seq) return 'delivered'
    return 'sent'
  }

  return {
    byConv,
    version,
    state,
    reset,
    add,
    open,
    loadOlder,
    catchUp,
    resync,
    receive,
    sendText,
    sendSticker,
    sendImage,
    retry,
    discard,
    typing,
    onPeerRead,
    onPeerOnline,
    receipt,
    setPresenceSource,
  }
})
