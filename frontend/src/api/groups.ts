// Groups: /api/v1/groups and everything under it.
import { request } from './client'
import { allPages } from './friends'
import {
  normalizePublicUser,
  type Group,
  type GroupMember,
  type GroupPatch,
  type GroupRole,
  type JoinRequest,
  type NewGroup,
  type Page,
} from './types'

export function normGroup(raw: Group | { group: Group }): Group {
  const g = 'group' in raw && raw.group && typeof raw.group === 'object' ? raw.group : (raw as Group)
  return {
    ...g,
    name: g.name ?? '',
    notice: g.notice ?? '',
    avatar_url: g.avatar_url ?? '',
    conversation_id: g.conversation_id ?? null,
    my_role: g.my_role ?? '',
  }
}

function normMember(m: GroupMember): GroupMember {
  return { ...m, user: normalizePublicUser(m.user) }
}

function normJoin(r: JoinRequest | { request: JoinRequest }): JoinRequest {
  const j = 'request' in r && r.request ? r.request : (r as JoinRequest)
  return { ...j, user: normalizePublicUser(j.user), message: j.message ?? '' }
}

/** GET /groups — my groups. */
export async function myGroups(): Promise<Group[]> {
  return (await allPages<Group>('/groups')).map(normGroup)
}

/** GET /groups?q= — public groups whose name contains q. */
export async function searchGroups(q: string): Promise<Group[]> {
  const page = await request<Page<Group>>('/groups', { query: { q, limit: 50 } })
  return (page?.items ?? []).map(normGroup)
}

export async function getGroup(id: number): Promise<Group> {
  return normGroup(await request<{ group: Group }>(`/groups/${id}`))
}

export async function createGroup(input: NewGroup): Promise<Group> {
  return normGroup(await request<{ group: Group }>('/groups', { method: 'POST', body: input }))
}

export async function updateGroup(id: number, patch: GroupPatch): Promise<Group> {
  return normGroup(await request<{ group: Group }>(`/groups/${id}`, { method: 'PATCH', body: patch }))
}

/** POST /groups/:id/join — a group (joined) or a join request (approval needed). */
export async function joinGroup(id: number, message?: string): Promise<{ group?: Group; request?: JoinRequest }> {
  const res = await request<{ group?: Group; request?: JoinRequest }>(`/groups/${id}/join`, {
    method: 'POST',
    body: message ? { message } : {},
  })
  if (res?.request) return { request: normJoin(res.request) }
  return { group: normGroup(res as { group: Group }) }
}

export async function leaveGroup(id: number): Promise<void> {
  await request<void>(`/groups/${id}/leave`, { method: 'POST' })
}

export async function disbandGroup(id: number): Promise<void> {
  await request<void>(`/groups/${id}`, { method: 'DELETE' })
}

export async function listMembers(id: number): Promise<GroupMember[]> {
  return (await allPages<GroupMember>(`/groups/${id}/members`)).map(normMember)
}

export async function inviteMembers(id: number, userIds: number[]): Promise<GroupMember[]> {
  const page = await request<Page<GroupMember>>(`/groups/${id}/members`, { method: 'POST', body: { user_ids: userIds } })
  return (page?.items ?? []).map(normMember)
}

export async function removeMember(id: number, userId: number): Promise<void> {
  await request<void>(`/groups/${id}/members/${userId}`, { method: 'DELETE' })
}

export async function setMemberRole(id: number, userId: number, role: Exclude<GroupRole, 'owner'>): Promise<GroupMember> {
  return normMember(await request<GroupMember>(`/groups/${id}/members/${userId}`, { method: 'PATCH', body: { role } }))
}

export async function transferGroup(id: number, userId: number): Promise<Group> {
  return normGroup(await request<{ group: Group }>(`/groups/${id}/transfer`, { method: 'POST', body: { user_id: userId } }))
}

export async function listJoinRequests(id: number): Promise<JoinRequest[]> {
  return (await allPages<JoinRequest>(`/groups/${id}/join-requests`)).map(normJoin)
}

export async function answerJoinRequest(id: number, requestId: number, accept: boolean): Promise<JoinRequest> {
  return normJoin(
    await request<{ request: JoinRequest }>(`/groups/${id}/join-requests/${requestId}/${accept ? 'accept' : 'reject'}`, {
      method: 'POST',
    }),
  )
}
