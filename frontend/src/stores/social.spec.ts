// Contacts and groups stores: REST answers and socket frames keep them current.
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { FriendRequest, Group, PublicUser } from '@/api/types'
import { useContactsStore } from './contacts'
import { useGroupsStore } from './groups'

const user = (id: number, name: string): PublicUser => ({
  id, username: name, nickname: name.toUpperCase(), avatar_url: '', signature: '', gender: '', location: '',
})
const ME = user(1, 'me')
const BOB = user(2, 'bob')
const group = (over: Partial<Group> = {}): Group => ({
  id: 9, name: '群', notice: '', avatar_url: '', owner_id: 1, join_approval: false, member_count: 2, max_members: 500,
  conversation_id: 40, created_at: '', my_role: 'owner', ...over,
})

describe('contacts and groups', () => {
  let routes: Record<string, (body: unknown) => [number, unknown?]>
  let calls: string[]

  beforeEach(() => {
    setActivePinia(createPinia())
    calls = []
    routes = {
      'GET /api/v1/friends': () => [200, { items: [] }],
      'GET /api/v1/friend-requests': () => [200, { items: [] }],
      'GET /api/v1/groups': () => [200, { items: [] }],
    }
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = new URL(String(input), 'http://app')
        const key = `${init?.method ?? 'GET'} ${url.pathname}`
        calls.push(`${key}${url.search}`)
        const route = routes[key]
        if (!route) return new Response(JSON.stringify({ error: { code: 'not_found', message: key } }), { status: 404 })
        const [status, body] = route(init?.body ? JSON.parse(String(init.body)) : undefined)
        return new Response(body === undefined ? null : JSON.stringify(body), { status })
      }),
    )
  })
  afterEach(() => vi.unstubAllGlobals())

  it('a friend.request frame adds to the incoming badge; accepting reloads the friends', async () => {
    const contacts = useContactsStore()
    await contacts.load()
    const req: FriendRequest = { id: 5, from_user: BOB, to_user: ME, message: 'hi', status: 'pending', created_at: '' }
    contacts.onFriendRequest(req, ME.id)
    contacts.onFriendRequest(req, ME.id) // the same frame twice counts once
    expect(contacts.incomingCount).toBe(1)
    routes['POST /api/v1/friend-requests/5/accept'] = () => [200, { ...req, status: 'accepted' }]
    routes['GET /api/v1/friends'] = () => [200, { items: [{ user: BOB, remark: '', online: true, since: '' }] }]
    await contacts.accept(5)
    expect(contacts.incomingCount).toBe(0)
    expect(contacts.isFriend(BOB.id)).toBe(true)
    expect(contacts.online[BOB.id]).toBe(true)
  })

  it('names show the remark first; remark edits and deletes follow the server', async () => {
    routes['GET /api/v1/friends'] = () => [200, { items: [{ user: BOB, remark: '', online: false, since: '' }] }]
    const contacts = useContactsStore()
    await contacts.load()
    expect(contacts.nameOf(BOB)).toBe('BOB')
    routes['PATCH /api/v1/friends/2'] = (body) => [200, { user: BOB, remark: (body as { remark: string }).remark, online: false, since: '' }]
    await contacts.setRemark(2, '  老同学 🎓 ')
    expect(contacts.nameOf(BOB)).toBe('老同学 🎓')
    routes['DELETE /api/v1/friends/2'] = () => [204]
    await contacts.remove(2)
    expect(contacts.isFriend(2)).toBe(false)
  })

  it('asking someone who had asked you makes you friends at once', async () => {
    const contacts = useContactsStore()
    routes['POST /api/v1/friend-requests'] = () => [201, { id: 8, from_user: ME, to_user: BOB, message: '', status: 'accepted', created_at: '' }]
    routes['GET /api/v1/friends'] = () => [200, { items: [{ user: BOB, remark: '', online: false, since: '' }] }]
    const req = await contacts.sendRequest(BOB.id, ' ')
    expect(req.status).toBe('accepted')
    expect(contacts.outgoing).toHaveLength(0)
    expect(contacts.isFriend(BOB.id)).toBe(true)
  })

  it('group frames: joined adds the group, updates keep my role, disbanded removes it', async () => {
    const groups = useGroupsStore()
    routes['GET /api/v1/groups/9'] = () => [200, { group: group({ my_role: 'member', owner_id: 2 }) }]
    // Bob's group, I am added: the event's group carries my_role ''.
    expect(groups.onEvent('group.member_joined', { group: group({ my_role: '', owner_id: 2 }), user: ME, by: BOB }, ME.id)).toBe(true)
    expect(groups.byId.get(9)?.my_role).toBe('member')
    expect(groups.byConversation.get(40)?.id).toBe(9)
    groups.onEvent('group.updated', { group: group({ name: '新名字', my_role: '', owner_id: 2 }), by: BOB }, ME.id)
    expect(groups.byId.get(9)).toMatchObject({ name: '新名字', my_role: 'member' })
    // I am made an admin.
    expect(groups.onEvent('group.updated', { group: group({ my_role: '', owner_id: 2 }), user: ME, by: BOB, role: 'admin' }, ME.id)).toBe(false)
    expect(groups.byId.get(9)?.my_role).toBe('admin')
    expect(groups.onEvent('group.disbanded', { group: group({ my_role: '' }), by: BOB }, ME.id)).toBe(true)
    expect(groups.byId.has(9)).toBe(false)
  })

  it('join requests reach owners and admins; answering one removes it', async () => {
    const groups = useGroupsStore()
    groups.onEvent('group.join_request', { id: 3, group_id: 9, user: BOB, message: '', status: 'pending', created_at: '' }, ME.id)
    expect(groups.pendingJoinCount).toBe(1)
    routes['POST /api/v1/groups/9/join-requests/3/reject'] = () => [200, { request: { id: 3, group_id: 9, user: BOB, message: '', status: 'rejected', created_at: '' } }]
    await groups.answerJoin(9, 3, false)
    expect(groups.pendingJoinCount).toBe(0)
  })

  it('management calls: create, invite, role, transfer, leave', async () => {
    const groups = useGroupsStore()
    routes['POST /api/v1/groups'] = (body) => [201, { group: group({ name: (body as { name: string }).name }) }]
    const g = await groups.create({ name: '周末爬山', member_ids: [2] })
    expect(g.my_role).toBe('owner')
    expect(groups.groups).toHaveLength(1)
    routes['POST /api/v1/groups/9/members'] = () => [200, { items: [{ user: BOB, role: 'member', joined_at: '' }] }]
    routes['GET /api/v1/groups/9/members'] = () => [200, { items: [{ user: ME, role: 'owner', joined_at: '' }, { user: BOB, role: 'member', joined_at: '' }] }]
    routes['GET /api/v1/groups/9'] = () => [200, { group: group({ member_count: 2 }) }]
    await groups.invite(9, [2])
    expect(groups.members[9]).toHaveLength(2)
    routes['PATCH /api/v1/groups/9/members/2'] = () => [200, { user: BOB, role: 'admin', joined_at: '' }]
    await groups.setRole(9, 2, 'admin')
    expect(groups.members[9]!.find((m) => m.user.id === 2)?.role).toBe('admin')
    routes['POST /api/v1/groups/9/transfer'] = () => [200, { group: group({ owner_id: 2, my_role: 'admin' }) }]
    await groups.transfer(9, 2)
    expect(groups.byId.get(9)?.my_role).toBe('admin')
    routes['POST /api/v1/groups/9/leave'] = () => [204]
    await groups.leave(9)
    expect(groups.groups).toHaveLength(0)
    expect(calls).toContain('POST /api/v1/groups/9/transfer')
  })
})
