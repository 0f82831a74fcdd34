import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, type Router } from 'vue-router'
import { configureClient } from '@/api/client'
import { i18n } from '@/i18n'
import { createAppRouter } from '@/router'
import { TOKEN_KEY, useAuthStore } from '@/stores/auth'
import LoginPage from './LoginPage.vue'

function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status })
}

describe('LoginPage', () => {
  const fetchMock = vi.fn<typeof fetch>()
  let router: Router

  async function mountAt(path: string) {
    const pinia = createPinia()
    setActivePinia(pinia)
    const auth = useAuthStore()
    configureClient({ getToken: () => auth.token, onUnauthorized: () => auth.handleUnauthorized() })
    router = createAppRouter(createMemoryHistory())
    await router.push(path)
    const wrapper = mount(LoginPage, { global: { plugins: [pinia, router] } })
    return { wrapper, auth }
  }

  async function submit(wrapper: Awaited<ReturnType<typeof mountAt>>['wrapper'], login: string, password: string) {
    await wrapper.find('#login-login').setValue(login)
    await wrapper.find('#login-password').setValue(password)
    await wrapper.find('form').trigger('submit')
    await flushPromises()
  }

  beforeEach(() => {
    localStorage.clear()
    i18n.setLocale('en')
    fetchMock.mockReset()
    vi.stubGlobal('fetch', fetchMock)
  })
  afterEach(() => vi.unstubAllGlobals())

  it('asks for both fields before calling the server', async () => {
    const { wrapper } = await mountAt('/login')
    await wrapper.find('form').trigger('submit')
    expect(wrapper.findAll('.form-field__error')).toHaveLength(2)
    expect(wrapper.text()).toContain('This field is required')
    expect(fetchMock).not.toHaveBeenCalled()
  })

  it('signs in, stores the token and goes where the user wanted', async () => {
    fetchMock.mockResolvedValue(
      json(200, { token: 'jwt', expires_at: '2999-01-01T00:00:00Z', user: { id: 1, username: 'xm' } }),
    )
    const { wrapper } = await mountAt('/login?redirect=/profile%3Fx%3D1')
    await submit(wrapper, 'xm', 'secret123')
    expect(localStorage.getItem(TOKEN_KEY)).toBe('jwt')
    await vi.waitFor(() => expect(router.currentRoute.value.fullPath).toBe('/profile?x=1'), { timeout: 10_000 })
  })

  it('explains an inactive account and links to resending the mail', async () => {
    fetchMock.mockResolvedValue(json(403, { error: { code: 'account_inactive', message: 'inactive' } }))
    const { wrapper } = await mountAt('/login')
    await submit(wrapper, 'xm@example.com', 'secret123')
    const alert = wrapper.find('[data-testid="login-inactive"]')
    expect(alert.text()).toContain('not activated yet')
    expect(alert.find('a').attributes('href')).toBe('/resend?email=xm@example.com')
  })

  it('says wrong credentials on 401, try later on 429, and offline on no answer', async () => {
    const { wrapper, auth } = await mountAt('/login')
    fetchMock.mockResolvedValueOnce(json(401, { error: { code: 'unauthorized', message: 'bad' } }))
    await submit(wrapper, 'xm', 'secret123')
    expect(wrapper.find('[data-testid="login-error"]').text()).toBe('Wrong username/email or password')
    expect(auth.token).toBeNull()

    fetchMock.mockResolvedValueOnce(json(429, { error: { code: 'rate_limited', message: 'slow down' } }))
    await submit(wrapper, 'xm', 'secret123')
    expect(wrapper.find('[data-testid="login-error"]').text()).toContain('try again later')

    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'))
    await submit(wrapper, 'xm', 'secret123')
    expect(wrapper.find('[data-testid="login-error"]').text()).toContain('Cannot reach the server')
  })

  it('follows a language switch', async () => {
    const { wrapper } = await mountAt('/login')
    expect(wrapper.find('button[type="submit"]').text()).toBe('Sign in')
    i18n.setLocale('zh-CN')
    await flushPromises()
    expect(wrapper.find('button[type="submit"]').text()).toBe('登录')
  })
})
