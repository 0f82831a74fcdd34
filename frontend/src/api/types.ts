// Wire types of the REST API (see shared/API.md). Fields are snake_case as sent.

export type Gender = '' | 'male' | 'female' | 'other'

/** The signed-in user's own account, from /me, login, register and activate. */
export interface User {
  id: number
  username: string
  email: string
  nickname: string
  avatar_url: string
  signature: string
  gender: Gender
  /** 'YYYY-MM-DD' or ''. */
  birthday: string
  location: string
  activated: boolean
  created_at: string
}

export interface LoginResult {
  token: string
  expires_at: string
  user: User
}

export interface RegisterInput {
  username: string
  email: string
  password: string
  nickname?: string
}

/** Fields PATCH /me accepts; absent ones stay unchanged. */
export interface ProfilePatch {
  nickname?: string
  signature?: string
  gender?: Gender
  birthday?: string
  location?: string
  avatar_url?: string
}

/** Fills absent or null string fields and cuts a birthday sent as a full time to its date. */
export function normalizeUser(raw: User): User {
  const u = raw as unknown as Record<string, unknown>
  const str = (k: string) => (typeof u[k] === 'string' ? (u[k] as string) : '')
  const birthday = str('birthday')
  return {
    ...raw,
    username: str('username'),
    email: str('email'),
    nickname: str('nickname'),
    avatar_url: str('avatar_url'),
    signature: str('signature'),
    gender: str('gender') as Gender,
    birthday: /^\d{4}-\d{2}-\d{2}/.test(birthday) ? birthday.slice(0, 10) : '',
    location: str('location'),
    activated: u.activated === true,
    created_at: str('created_at'),
  }
}

/** Accepts a user sent bare or under "user" (the contract wraps it for some routes). */
export function unwrapUser(body: unknown): User {
  const b = body as { user?: User } | User
  const user = b && typeof b === 'object' && 'user' in b && b.user && typeof b.user === 'object' ? b.user : (b as User)
  return normalizeUser(user)
}

/** What anyone signed in sees of another user. */
export interface PublicUser {
  id: number
  username: string
  nickname: string
  avatar_url: string
  signature: string
  gender: Gender
  location: string
  /** Present on GET /users/:id, search results and conversation peers. */
  is_friend?: boolean
  /** Your private remark, when they are your friend and you set one. */
  remark?: string
}

export interface Friend {
  user: PublicUser
  remark: string
  online: boolean
  since: string
}

export type RequestStatus = 'pending' | 'accepted' | 'rejected'

export interface FriendRequest {
  id: number
  from_user: PublicUser
  to_user: PublicUser
  message: string
  status: RequestStatus
  created_at: string
}

export type GroupRole = 'owner' | 'admin' | 'member'

export interface Group {
  id: number
  name: string
  notice: string
  avatar_url: string
  owner_id: number
  join_approval: boolean
  member_count: number
  max_members: number
  conversation_id: number | null
  created_at: string
  my_role: GroupRole | ''
}

export interface GroupMember {
  user: PublicUser
  role: GroupRole
  joined_at: string
}

export interface JoinRequest {
  id: number
  group_id: number
  user: PublicUser
  message: string
  status: RequestStatus
  created_at: string
}

export interface GroupPatch {
  name?: string
  notice?: string
  avatar_url?: string
  join_approval?: boolean
}

export interface NewGroup extends GroupPatch {
  name: string
  member_ids?: number[]
}

/** An uploaded image, as POST /uploads/images answers and image messages carry. */
export interface ImageContent {
  url: string
  thumb_url: string
  width: number
  height: number
}

export type MessageKind = 'text' | 'emoji' | 'image'

export interface Message {
  id: number
  conversation_id: number
  seq: number
  sender_id: number
  kind: MessageKind | (string & {})
  /** A string for text and emoji, an ImageContent for images. */
  content: string | ImageContent
  client_msg_id: string
  created_at: string
}

export interface GroupBrief {
  id: number
  name: string
  avatar_url: string
  member_count: number
}

export interface Conversation {
  id: number
  type: 'private' | 'group'
  peer?: PublicUser
  group?: GroupBrief
  last_message: Message | null
  last_seq: number
  read_seq: number
  unread: number
  updated_at: string
}

/** Every list route answers with this. */
export interface Page<T> {
  items: T[]
  next_cursor?: string
}

export function normalizePublicUser(raw: PublicUser): PublicUser {
  const u = raw as unknown as Record<string, unknown>
  const str = (k: string) => (typeof u[k] === 'string' ? (u[k] as string) : '')
  const out: PublicUser = {
    ...raw,
    username: str('username'),
    nickname: str('nickname'),
    avatar_url: str('avatar_url'),
    signature: str('signature'),
    gender: str('gender') as Gender,
    location: str('location'),
  }
  if (typeof u.remark !== 'string') delete out.remark
  return out
}

/** The name to show for a user: your remark first, then the nickname, then the username. */
export function displayName(u: Pick<PublicUser, 'nickname' | 'username'> & { remark?: string } | null | undefined, remark?: string): string {
  if (!u) return ''
  return (remark || u.remark || u.nickname || u.username || '').trim()
}
