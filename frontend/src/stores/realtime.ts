// Wires the one socket (realtime/socket.ts) to the stores: frames go to the store they
// concern, and every (re)connect resyncs the screen with the server by seq.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { sessionEnded } from '@/api/client'
import type { FriendRequest, JoinRequest, Message, PublicUser } from '@/api/types'
import { socketUrl } from '@/config'
import { CLOSE_TOKEN_REVOKED, socket, type SocketStatus } from '@/realtime/socket'
import { useAuthStore } from './auth'
import { useContactsStore } from './contacts'
import { useConversationsStore } from './conversations'
import { useGroupsStore, type GroupEvent } from './groups'
import { useMessagesStore } from './messages'

export const useRealtimeStore = defineStore('realtime', () => {
  const status = ref<SocketStatus>(socket.status)
  /** True from the first successful connect until stop(): the banner shows "connecting" only after. */
  const everConnected = ref(false)
  const lastSync = ref(0)
  let wired = false
  let listReload: ReturnType<typeof setTimeout> | undefined

  const auth = useAuthStore()
  const conversations = useConversationsStore()
  const messages = useMessagesStore()
  const contacts = useContactsStore()
  const groups = useGroupsStore()

  function myId(): number | undefined {
    return auth.user?.id
  }

  /** Reloads the conversation list soon (several events in a row make one request). */
  function reloadListSoon(): void {
    clearTimeout(listReload)
    listReload = setTimeout(() => void conversations.load().catch(() => undefined), 150)
  }

  /** Brings every store in line with the server (after each connect). */
  async function resync(): Promise<void> {
    if (!auth.user) await auth.fetchMe().catch(() => undefined)
    await Promise.all([
      conversations.load().then(() => messages.resync()),
      contacts.load(),
      groups.load(),
    ]).catch(() => undefined)
    lastSync.value = Date.now()
  }

  function wire(): void {
    if (wired) return
    wired = true
    messages.setPresenceSource((id) => (id ? !!contacts.online[id] : false))
    socket.onStatus((s) => (status.value = s))
    socket.onOpen(() => {
      everConnected.value = true
      void resync()
    })
    socket.onClose((code, opened) => {
      if (code === CLOSE_TOKEN_REVOKED) {
        sessionEnded()
        return
      }
      // A handshake refused again and again may be an ended session: /me tells (a 401
      // there ends the session through the API client).
      if (!opened && socket.failedAttempts >= 2 && socket.failedAttempts % 2 === 0) void auth.fetchMe().catch(() => undefined)
    })
    socket.on('message.new', (d) => {
      const m = (d as { message?: Message })?.message
      if (m && !messages.receive(m)) reloadListSoon()
    })
    socket.on('read', (d) => {
      const r = d as { conversation_id: number; user_id: number; seq: number }
      if (r.user_id === myId()) conversations.onOwnRead(r.conversation_id, r.seq)
      else messages.onPeerRead(r.conversation_id, r.seq)
    })
    socket.on('typing', (d) => {
      const r = d as { conversation_id: number; user_id: number }
      if (r.user_id !== myId()) conversations.onTyping(r.conversation_id, r.user_id)
    })
    socket.on('presence', (d) => {
      const p = d as { user_id: number; online: boolean }
      contacts.onPresence(p.user_id, p.online)
      if (p.online) {
        const c = conversations.items.find((x) => x.type === 'private' && x.peer?.id === p.user_id)
        if (c) messages.onPeerOnline(c.id, c.last_seq)
      }
    })
    socket.on('friend.request', (d) => contacts.onFriendRequest(d as FriendRequest, myId()))
    socket.on('friend.accepted', (d) => {
      void contacts.onFriendAccepted((d as { user?: PublicUser })?.user).catch(() => undefined)
      reloadListSoon()
    })
    socket.on('friend.removed', (d) => {
      contacts.onFriendRemoved((d as { user?: PublicUser })?.user)
      reloadListSoon()
    })
    for (const type of ['group.updated', 'group.member_joined', 'group.member_left', 'group.disbanded', 'group.join_request']) {
      socket.on(type, (d) => {
        if (groups.onEvent(type, d as GroupEvent | JoinRequest, myId())) reloadListSoon()
      })
    }
    if (typeof window !== 'undefined') {
      window.addEventListener('online', () => socket.reconnectNow())
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') socket.reconnectNow()
      })
    }
  }

  /** Connects with the session's token (no-op while connected). */
  function start(): void {
    if (!auth.token) return
    wire()
    socket.configure({
      url: () => (auth.token ? `${socketUrl()}?token=${encodeURIComponent(auth.token)}` : null),
    })
    socket.start()
  }

  /** Disconnects and forgets every user's data (sign-out). */
  function stop(): void {
    socket.stop()
    everConnected.value = false
    clearTimeout(listReload)
    conversations.reset()
    messages.reset()
    contacts.reset()
    groups.reset()
  }

  return { status, everConnected, lastSync, start, stop, resync }
})
