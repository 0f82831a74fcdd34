// The conversation list: newest activity first, with last message and unread count,
// kept live by the socket (message.new, read, typing) and reloaded after reconnects.
import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import * as convApi from '@/api/conversations'
import { displayName, type Conversation, type Message } from '@/api/types'

/** The robot's username: every user has a private conversation with it. */
export const ROBOT_USERNAME = 'robot'
/** How long a typing frame shows "typing…". */
export const TYPING_MS = 5_000

function activity(c: Conversation): number {
  const t = Date.parse(c.last_message?.created_at ?? '') || Date.parse(c.updated_at) || 0
  return t
}

export function isRobot(c: Conversation | null | undefined): boolean {
  return c?.type === 'private' && c.peer?.username === ROBOT_USERNAME
}

export const useConversationsStore = defineStore('conversations', () => {
  const items = ref<Conversation[]>([])
  const loaded = ref(false)
  const loadError = ref<unknown>(null)
  /** The conversation on screen (its new messages do not count as unread while visible). */
  const activeId = ref<number | null>(null)
  /** conversation id → who is typing and until when (ms). */
  const typing = reactive<Record<number, { userId: number; until: number }>>({})
  let loading: Promise<void> | null = null
  const readTimers = new Map<number, ReturnType<typeof setTimeout>>()

  const sorted = computed(() => [...items.value].sort((a, b) => activity(b) - activity(a) || b.id - a.id))
  const byId = computed(() => new Map(items.value.map((c) => [c.id, c])))
  const totalUnread = computed(() => items.value.reduce((n, c) => n + (c.unread > 0 ? c.unread : 0), 0))

  function reset(): void {
    items.value = []
    loaded.value = false
    loadError.value = null
    activeId.value = null
    for (const k of Object.keys(typing)) delete typing[Number(k)]
    for (const t of readTimers.values()) clearTimeout(t)
    readTimers.clear()
    loading = null
  }

  /** GET /conversations; concurrent calls share one request. */
  function load(): Promise<void> {
    if (loading) return loading
    loading = (async () => {
      try {
        const list = await convApi.listConversations()
        // Keep a newer local state (a message that arrived while the list was loading).
        const old = byId.value
        items.value = list.map((c) => {
          const o = old.get(c.id)
          if (o && o.last_seq > c.last_seq) return { ...c, last_seq: o.last_seq, last_message: o.last_message, unread: o.unread }
          if (c.id === activeId.value) return { ...c, unread: 0 }
          return c
        })
        loaded.value = true
        loadError.value = null
      } catch (err) {
        loadError.value = err
        throw err
      } finally {
        loading = null
      }
    })()
    return loading
  }

  /** The conversation with that id, fetched when the list does not have it. */
  async function ensure(id: number): Promise<Conversation> {
    const have = byId.value.get(id)
    if (have) return have
    const c = await convApi.getConversation(id)
    upsert(c)
    return byId.value.get(id) ?? c
  }

  function upsert(c: Conversation): void {
    items.value = byId.value.has(c.id) ? items.value.map((x) => (x.id === c.id ? { ...x, ...c } : x)) : [...items.value, c]
  }

  function remove(id: number): void {
    items.value = items.value.filter((c) => c.id !== id)
  }

  /** The private conversation with a friend or the robot (made on first use); its id. */
  async function openPrivate(userId: number): Promise<number> {
    const found = items.value.find((c) => c.type === 'private' && c.peer?.id === userId)
    if (found) return found.id
    const c = await convApi.openPrivate(userId)
    upsert(c)
    return c.id
  }

  function nameOf(c: Conversation | null | undefined, remark?: string): string {
    if (!c) return ''
    if (c.type === 'group') return c.group?.name ?? ''
    return displayName(c.peer, remark)
  }

  /**
   * A message arrived (or our own was acked): it becomes the last message; it counts
   * as unread unless it is ours or its conversation is on screen. Returns false when
   * the conversation is unknown (the caller reloads the list).
   */
  function onMessage(m: Message, mine: boolean, visible: boolean): boolean {
    const c = byId.value.get(m.conversation_id)
    if (!c) return false
    if (m.seq && m.seq <= c.last_seq && c.last_message && c.last_message.seq >= m.seq) return true
    const unread = mine || (visible && activeId.value === c.id) ? c.unread : c.unread + 1
    const read_seq = mine ? Math.max(c.read_seq, m.seq) : c.read_seq
    items.value = items.value.map((x) =>
      x.id === c.id
        ? { ...x, last_message: m, last_seq: Math.max(x.last_seq, m.seq), unread: mine ? 0 : unread, read_seq, updated_at: m.created_at }
        : x,
    )
    if (typing[c.id]?.userId === m.sender_id) delete typing[c.id]
    return true
  }

  /** Shows an own message that is still being sent as the last one. */
  function onLocalMessage(m: Message): void {
    items.value = items.value.map((x) => (x.id === m.conversation_id ? { ...x, last_message: m, updated_at: m.created_at } : x))
  }

  /** Marks read up to seq here at once, and on the server shortly after (coalesced). */
  function markRead(id: number, seq: number): void {
    const c = byId.value.get(id)
    if (!c || seq <= 0) return
    if (c.unread === 0 && c.read_seq >= seq) return
    items.value = items.value.map((x) => (x.id === id ? { ...x, unread: Math.max(0, x.last_seq - seq), read_seq: Math.max(x.read_seq, seq) } : x))
    clearTimeout(readTimers.get(id))
    readTimers.set(
      id,
      setTimeout(() => {
        readTimers.delete(id)
        convApi.markRead(id, seq).catch(() => undefined)
      }, 300),
    )
  }

  /** A `read` frame from another device of mine: the unread count follows. */
  function onOwnRead(id: number, seq: number): void {
    items.value = items.value.map((x) =>
      x.id === id && seq > x.read_seq ? { ...x, read_seq: seq, unread: Math.max(0, x.last_seq - seq) } : x,
    )
  }

  function onTyping(id: number, userId: number, now = Date.now()): void {
    typing[id] = { userId, until: now + TYPING_MS }
    setTimeout(() => {
      if (typing[id] && typing[id].until <= Date.now()) delete typing[id]
    }, TYPING_MS + 50)
  }

  function typingIn(id: number, now = Date.now()): number | null {
    const t = typing[id]
    return t && t.until > now ? t.userId : null
  }

  return {
    items,
    sorted,
    byId,
    loaded,
    loadError,
    activeId,
    typing,
    totalUnread,
    reset,
    load,
    ensure,
    upsert,
    remove,
    openPrivate,
    nameOf,
    onMessage,
    onLocalMessage,
    markRead,
    onOwnRead,
    onTyping,
    typingIn,
  }
})
