import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { createMemoryHistory } from 'vue-router'
import { createAppRouter, safeRedirect } from './router'
import { TOKEN_KEY, useAuthStore } from './stores/auth'

describe('router', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
  })

  async function at(path: string) {
    const router = createAppRouter(createMemoryHistory())
    await router.push(path)
    return router.currentRoute.value
  }

  it('sends / to /login when signed out and to the chats when signed in', async () => {
    expect((await at('/')).name).toBe('login')
    useAuthStore().setSession('tok', null, null)
    expect((await at('/')).name).toBe('chats')
  })

  it('guards /profile and remembers where the user wanted to go', async () => {
    const r = await at('/profile?tab=x')
    expect(r.name).toBe('login')
    expect(r.query.redirect).toBe('/profile?tab=x')
  })

  it('sends a signed-in user away from /login, honouring a safe redirect', async () => {
    localStorage.setItem(TOKEN_KEY, 'tok')
    setActivePinia(createPinia())
    expect((await at('/login')).name).toBe('chats')
    expect((await at('/register')).name).toBe('chats')
    expect((await at('/login?redirect=//evil.example/x')).name).toBe('chats')
    expect((await at('/login?redirect=/profile')).name).toBe('profile')
  })

  it('keeps /activate and /resend open to everyone', async () => {
    expect((await at('/activate?token=abc')).name).toBe('activate')
    useAuthStore().setSession('tok', null, null)
    expect((await at('/resend')).name).toBe('resend')
  })

  it('shows the not-found page for unknown paths', async () => {
    expect((await at('/no/such/page')).name).toBe('not-found')
  })

  it.each([
    ['/profile', '/profile'],
    ['/profile?x=1#y', '/profile?x=1#y'],
    ['//evil.example', '/chats'],
    ['/\\evil.example', '/chats'],
    ['https://evil.example', '/chats'],
    ['/login?redirect=/profile', '/chats'],
    [undefined, '/chats'],
    [['/a'], '/chats'],
  ])('safeRedirect(%j) → %s', (input, want) => {
    expect(safeRedirect(input)).toBe(want)
  })
})
