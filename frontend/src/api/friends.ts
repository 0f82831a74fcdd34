// Friends and friend requests: /api/v1/friends, /api/v1/friend-requests.
import { request } from './client'
import { normalizePublicUser, type Friend, type FriendRequest, type Page } from './types'

function normFriend(f: Friend): Friend {
  return { ...f, user: normalizePublicUser(f.user), remark: f.remark ?? '', online: !!f.online }
}

export function normRequest(r: FriendRequest): FriendRequest {
  return { ...r, from_user: normalizePublicUser(r.from_user), to_user: normalizePublicUser(r.to_user), message: r.message ?? '' }
}

/** Follows next_cursor until the last page (bounded, so a broken cursor cannot loop). */
export async function allPages<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T[]> {
  const out: T[] = []
  let cursor: string | undefined
  for (let i = 0; i < 50; i++) {
    const page = await request<Page<T>>(path, { query: { ...query, limit: 100, cursor } })
    out.push(...(page?.items ?? []))
    if (!page?.next_cursor || page.next_cursor === cursor) break
    cursor = page.next_cursor
  }
  return out
}

/** GET /friends, every page. */
export async function listFriends(): Promise<Friend[]> {
  return (await allPages<Friend>('/friends')).map(normFriend)
}

/** GET /friend-requests?box= — pending requests, newest first. */
export async function listRequests(box: 'incoming' | 'outgoing'): Promise<FriendRequest[]> {
  return (await allPages<FriendRequest>('/friend-requests', { box })).map(normRequest)
}

/** POST /friend-requests — status 'accepted' when they had already asked you. */
export async function sendRequest(toUserId: number, message?: string): Promise<FriendRequest> {
  const body: { to_user_id: number; message?: string } = { to_user_id: toUserId }
  if (message) body.message = message
  return normRequest(await request<FriendRequest>('/friend-requests', { method: 'POST', body }))
}

export async function acceptRequest(id: number): Promise<FriendRequest> {
  return normRequest(await request<FriendRequest>(`/friend-requests/${id}/accept`, { method: 'POST' }))
}

export async function rejectRequest(id: number): Promise<FriendRequest> {
  return normRequest(await request<FriendRequest>(`/friend-requests/${id}/reject`, { method: 'POST' }))
}

/** PATCH /friends/:user_id {remark} ('' clears it). */
export async function setRemark(userId: number, remark: string): Promise<Friend> {
  return normFriend(await request<Friend>(`/friends/${userId}`, { method: 'PATCH', body: { remark } }))
}

/** DELETE /friends/:user_id — ends the friendship both ways. */
export async function deleteFriend(userId: number): Promise<void> {
  await request<void>(`/friends/${userId}`, { method: 'DELETE' })
}
