// My groups, their members and join requests; every management action. Updated by
// REST answers and by the socket's group.* frames.
import { defineStore } from 'pinia'
import { computed, reactive, ref } from 'vue'
import * as groupsApi from '@/api/groups'
import type { Group, GroupMember, GroupPatch, JoinRequest, NewGroup, PublicUser } from '@/api/types'

export interface GroupEvent {
  group?: Group
  user?: PublicUser
  by?: PublicUser
  role?: string
}

export const useGroupsStore = defineStore('groups', () => {
  const groups = ref<Group[]>([])
  const members = reactive<Record<number, GroupMember[]>>({})
  const joinRequests = reactive<Record<number, JoinRequest[]>>({})
  const loaded = ref(false)

  const byId = computed(() => new Map(groups.value.map((g) => [g.id, g])))
  const byConversation = computed(() => new Map(groups.value.filter((g) => g.conversation_id).map((g) => [g.conversation_id!, g])))
  const pendingJoinCount = computed(() => Object.values(joinRequests).reduce((n, l) => n + l.filter((r) => r.status === 'pending').length, 0))

  function reset(): void {
    groups.value = []
    for (const k of Object.keys(members)) delete members[Number(k)]
    for (const k of Object.keys(joinRequests)) delete joinRequests[Number(k)]
    loaded.value = false
  }

  async function load(): Promise<void> {
    groups.value = await groupsApi.myGroups()
    loaded.value = true
    // Owners and admins see join requests waiting for them.
    await Promise.all(
      groups.value
        .filter((g) => (g.my_role === 'owner' || g.my_role === 'admin') && g.join_approval)
        .map((g) => loadJoinRequests(g.id).catch(() => undefined)),
    )
  }

  /** Keeps a group seen from the server; my_role '' in events keeps the role we know. */
  function upsert(g: Group): Group {
    const old = byId.value.get(g.id)
    const merged: Group = { ...old, ...g, my_role: g.my_role || old?.my_role || '' }
    if (!merged.my_role) return merged
    groups.value = old ? groups.value.map((x) => (x.id === g.id ? merged : x)) : [...groups.value, merged]
    return merged
  }

  function drop(id: number): void {
    groups.value = groups.value.filter((g) => g.id !== id)
    delete members[id]
    delete joinRequests[id]
  }

  async function fetch(id: number): Promise<Group> {
    const g = await groupsApi.getGroup(id)
    if (g.my_role) upsert(g)
    else drop(id)
    return g
  }

  async function create(input: NewGroup): Promise<Group> {
    return upsert(await groupsApi.createGroup(input))
  }

  function search(q: string): Promise<Group[]> {
    return groupsApi.searchGroups(q.trim())
  }

  async function update(id: number, patch: GroupPatch): Promise<Group> {
    return upsert(await groupsApi.updateGroup(id, patch))
  }

  /** Joins at once (a Group) or sends a join request (a JoinRequest) when approval is needed. */
  async function join(id: number, message?: string): Promise<{ group?: Group; request?: JoinRequest }> {
    const res = await groupsApi.joinGroup(id, message)
    if (res.group) upsert(res.group)
    return res
  }

  async function leave(id: number): Promise<void> {
    await groupsApi.leaveGroup(id)
    drop(id)
  }

  async function disband(id: number): Promise<void> {
    await groupsApi.disbandGroup(id)
    drop(id)
  }

  async function loadMembers(id: number): Promise<GroupMember[]> {
    const list = await groupsApi.listMembers(id)
    members[id] = list
    return list
  }

  async function invite(id: number, userIds: number[]): Promise<GroupMember[]> {
    const added = await groupsApi.inviteMembers(id, userIds)
    await Promise.all([loadMembers(id), fetch(id)])
    return added
  }

  async function removeMember(id: number, userId: number): Promise<void> {
    await groupsApi.removeMember(id, userId)
    members[id] = (members[id] ?? []).filter((m) => m.user.id !== userId)
    await fetch(id)
  }

  async function setRole(id: number, userId: number, role: 'admin' | 'member'): Promise<void> {
    const m = await groupsApi.setMemberRole(id, userId, role)
    members[id] = (members[id] ?? []).map((x) => (x.user.id === userId ? { ...x, role: m.role } : x))
  }

  async function transfer(id: number, userId: number): Promise<void> {
    upsert(await groupsApi.transferGroup(id, userId))
    await loadMembers(id)
  }

  async function loadJoinRequests(id: number): Promise<JoinRequest[]> {
    const list = await groupsApi.listJoinRequests(id)
    joinRequests[id] = list
    return list
  }

  async function answerJoin(id: number, requestId: number, accept: boolean): Promise<void> {
    await groupsApi.answerJoinRequest(id, requestId, accept)
    joinRequests[id] = (joinRequests[id] ?? []).filter((r) => r.id !== requestId)
    if (accept) await Promise.all([loadMembers(id), fetch(id)])
  }

  // ---- socket frames ----

  /** A group.* frame; returns whether the conversation list should be reloaded. */
  function onEvent(type: string, data: GroupEvent | JoinRequest, myId: number | undefined): boolean {
    if (type === 'group.join_request') {
      const r = data as JoinRequest
      joinRequests[r.group_id] = [...(joinRequests[r.group_id] ?? []).filter((x) => x.id !== r.id), r]
      return false
    }
    const ev = data as GroupEvent
    const g = ev.group ? groupsApi.normGroup(ev.group) : undefined
    if (!g) return false
    const aboutMe = ev.user?.id === myId
    if (type === 'group.disbanded' || (type === 'group.member_left' && aboutMe)) {
      drop(g.id)
      return true
    }
    if (type === 'group.member_joined' && aboutMe) {
      upsert({ ...g, my_role: g.owner_id === myId ? 'owner' : 'member' })
      void fetch(g.id).catch(() => undefined)
      return true
    }
    if (type === 'group.updated' && aboutMe && ev.role) {
      upsert({ ...g, my_role: ev.role as Group['my_role'] })
    } else if (type === 'group.updated' && g.owner_id !== byId.value.get(g.id)?.owner_id) {
      // Ownership moved: my role may have changed too.
      upsert(g)
      void fetch(g.id).catch(() => undefined)
    } else {
      upsert(g)
    }
    if (members[g.id]) void loadMembers(g.id).catch(() => undefined)
    return type !== 'group.updated' || !ev.role
  }

  return {
    groups,
    members,
    joinRequests,
    loaded,
    byId,
    byConversation,
    pendingJoinCount,
    reset,
    load,
    fetch,
    create,
    search,
    update,
    join,
    leave,
    disband,
    loadMembers,
    invite,
    removeMember,
    setRole,
    transfer,
    loadJoinRequests,
    answerJoin,
    onEvent,
  }
})
