// Conversations and message history: /api/v1/conversations.
import { request } from './client'
import { allPages } from './friends'
import { normalizePublicUser, type Conversation, type Message, type Page } from './types'

export function normConversation(c: Conversation): Conversation {
  return {
    ...c,
    peer: c.peer ? normalizePublicUser(c.peer) : undefined,
    last_message: c.last_message ?? null,
    last_seq: c.last_seq ?? 0,
    read_seq: c.read_seq ?? 0,
    unread: c.unread ?? 0,
  }
}

/** GET /conversations, every page: newest activity first, with last message and unread. */
export async function listConversations(): Promise<Conversation[]> {
  return (await allPages<Conversation>('/conversations')).map(normConversation)
}

export async function getConversation(id: number): Promise<Conversation> {
  return normConversation(await request<Conversation>(`/conversations/${id}`))
}

/** POST /conversations/private — get or make the private conversation with a friend or the robot. */
export async function openPrivate(userId: number): Promise<Conversation> {
  return normConversation(await request<Conversation>('/conversations/private', { method: 'POST', body: { user_id: userId } }))
}

export interface HistoryQuery {
  afterSeq?: number
  beforeSeq?: number
  limit?: number
}

/** GET /conversations/:id/messages — ascending seq; a page shorter than limit is the end. */
export async function listMessages(id: number, q: HistoryQuery = {}): Promise<Message[]> {
  const page = await request<Page<Message>>(`/conversations/${id}/messages`, {
    query: { after_seq: q.afterSeq, before_seq: q.beforeSeq, limit: q.limit },
  })
  return page?.items ?? []
}

/** POST /conversations/:id/read {seq}. */
export async function markRead(id: number, seq: number): Promise<void> {
  await request<void>(`/conversations/${id}/read`, { method: 'POST', body: { seq } })
}
