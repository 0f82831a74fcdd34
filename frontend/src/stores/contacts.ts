// Friends, friend requests and presence. Updated by REST answers and by the socket's
// friend.* and presence frames (wired in the realtime store).
import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import * as friendsApi from '@/api/friends'
import * as usersApi from '@/api/users'
import { displayName, type Friend, type FriendRequest, type PublicUser } from '@/api/types'

export const useContactsStore = defineStore('contacts', () => {
  const friends = ref<Friend[]>([])
  const incoming = ref<FriendRequest[]>([])
  const outgoing = ref<FriendRequest[]>([])
  /** user id → online, from GET /friends and presence frames. */
  const online = reactive<Record<number, boolean>>({})
  const loaded = ref(false)
  const loadError = ref<unknown>(null)

  const friendById = computed(() => new Map(friends.value.map((f) => [f.user.id, f])))
  const incomingCount = computed(() => incoming.value.length)
  /** Friends sorted by the name shown (remark first), in the current collation. */
  const sortedFriends = computed(() =>
    [...friends.value].sort((a, b) => displayName(a.user, a.remark).localeCompare(displayName(b.user, b.remark), 'zh-CN')),
  )

  function reset(): void {
    friends.value = []
    incoming.value = []
    outgoing.value = []
    for (const k of Object.keys(online)) delete online[Number(k)]
    loaded.value = false
    loadError.value = null
  }

  async function load(): Promise<void> {
    try {
      const [f, inc, out] = await Promise.all([
        friendsApi.listFriends(),
        friendsApi.listRequests('incoming'),
        friendsApi.listRequests('outgoing'),
      ])
      friends.value = f
      for (const fr of f) online[fr.user.id] = fr.online
      incoming.value = inc
      outgoing.value = out
      loaded.value = true
      loadError.value = null
    } catch (err) {
      loadError.value = err
      throw err
    }
  }

  function isFriend(userId: number): boolean {
    return friendById.value.has(userId)
  }

  function remarkOf(userId: number): string {
    return friendById.value.get(userId)?.remark ?? ''
  }

  /** The name to show for a user: remark, nickname, username. */
  function nameOf(u: PublicUser | null | undefined): string {
    if (!u) return ''
    return displayName(u, remarkOf(u.id) || u.remark)
  }

  function searchUsers(q: string): Promise<PublicUser[]> {
    return usersApi.searchUsers(q.trim())
  }

  function getUser(id: number): Promise<PublicUser> {
    return usersApi.getUser(id)
  }

  /** Sends (or re-sends) a request; when they had asked already you are friends at once. */
  async function sendRequest(userId: number, message?: string): Promise<FriendRequest> {
    const req = await friendsApi.sendRequest(userId, message?.trim() || undefined)
    if (req.status === 'accepted') {
      incoming.value = incoming.value.filter((r) => r.from_user.id !== userId)
      await load()
    } else {
      outgoing.value = [req, ...outgoing.value.filter((r) => r.id !== req.id)]
    }
    return req
  }

  async function accept(id: number): Promise<void> {
    await friendsApi.acceptRequest(id)
    incoming.value = incoming.value.filter((r) => r.id !== id)
    friends.value = await friendsApi.listFriends()
    for (const fr of friends.value) online[fr.user.id] = fr.online
  }

  async function reject(id: number): Promise<void> {
    await friendsApi.rejectRequest(id)
    incoming.value = incoming.value.filter((r) => r.id !== id)
  }

  async function setRemark(userId: number, remark: string): Promise<Friend> {
    const f = await friendsApi.setRemark(userId, remark.trim())
    friends.value = friends.value.map((x) => (x.user.id === userId ? { ...x, remark: f.remark } : x))
    return f
  }

  async function remove(userId: number): Promise<void> {
    await friendsApi.deleteFriend(userId)
    friends.value = friends.value.filter((f) => f.user.id !== userId)
  }

  // ---- socket frames ----

  function onFriendRequest(req: FriendRequest, myId: number | undefined): void {
    const r = friendsApi.normRequest(req)
    if (r.to_user.id === myId) incoming.value = [r, ...incoming.value.filter((x) => x.id !== r.id)]
    else if (r.from_user.id === myId) outgoing.value = [r, ...outgoing.value.filter((x) => x.id !== r.id)]
  }

  async function onFriendAccepted(user: PublicUser | undefined): Promise<void> {
    if (user) {
      incoming.value = incoming.value.filter((r) => r.from_user.id !== user.id)
      outgoing.value = outgoing.value.filter((r) => r.to_user.id !== user.id)
    }
    friends.value = await friendsApi.listFriends()
    for (const fr of friends.value) online[fr.user.id] = fr.online
  }

  function onFriendRemoved(user: PublicUser | undefined): void {
    if (user) friends.value = friends.value.filter((f) => f.user.id !== user.id)
  }

  function onPresence(userId: number, isOnline: boolean): void {
    online[userId] = isOnline
    const f = friendById.value.get(userId)
    if (f) f.online = isOnline
  }

  return {
    friends,
    sortedFriends,
    incoming,
    outgoing,
    online,
    loaded,
    loadError,
    friendById,
    incomingCount,
    reset,
    load,
    isFriend,
    remarkOf,
    nameOf,
    searchUsers,
    getUser,
    sendRequest,
    accept,
    reject,
    setRemark,
    remove,
    onFriendRequest,
    onFriendAccepted,
    onFriendRemoved,
    onPresence,
  }
})
