// End-to-end test of the account pages against the real server and Debian's Chromium.
//
// The server (e2e/server.mjs) runs with no SMTP host, so activation mails land in the
// server's log, where the test reads the links. Browser: CHROMIUM_PATH or
// /usr/bin/chromium; it never downloads one.
//
// Skipped only when the binary or Chromium is missing and LECHAT_TEST_REQUIRE_SERVICES is not '1'.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { launchBrowser, newPage as openPage, shot, startServer, unique, whySkip } from './server.mjs'

const STEP_MS = 15_000 // bound of every single browser wait
const TEST_MS = 180_000 // bound of one test

const NICKNAME = '小明 👨‍👩‍👧 🇨🇳'
const SIGNATURE = 'Hello 乐聊 ✨ 今天也要开心'
const PASSWORD = 'secret-pass-1'
const NEW_PASSWORD = 'secret-pass-2'
const skipReason = whySkip()

describe('accounts in the browser', () => {
  let server
  let base = ''
  /** @type {import('playwright-core').Browser | undefined} */
  let browser
  // The first user, shared by the tests below (they run in order).
  const u1 = { username: `e2e_${unique()}`, email: '', password: PASSWORD }
  u1.email = `${u1.username}@example.com`

  const api = (...args) => server.api(...args)
  const activationPath = (email) => server.activationFromLog(email)
  const newPage = (options = {}) => openPage(browser, options, STEP_MS)

  before(async () => {
    if (skipReason) return
    server = await startServer()
    base = server.base
    browser = await launchBrowser()
  })

  after(async () => {
    try {
      await browser?.close()
    } catch {
      // already gone
    }
    await server?.stop()
  })

  test('register, activate, sign in, edit the profile, switch language, sign out', { timeout: TEST_MS, skip: skipReason }, async () => {
    const { context, page, problems } = await newPage()
    try {
      // Register through the form (Chinese, from the browser's language).
      await page.goto(`${base}/register`)
      await page.locator('h1', { hasText: '注册乐聊账号' }).waitFor()
      // client-side validation first
      await page.locator('[data-testid="register-form"] button[type="submit"]').click()
      await page.getByText('请填写此项').first().waitFor()
      await page.fill('#register-username', 'ab')
      await page.fill('#register-password', 'short')
      await page.getByText('用户名长度需为 3–32 个字符').waitFor()
      await shot(page, 'register-errors-pc-zh.png')

      await page.fill('#register-username', u1.username.toUpperCase()) // lower-cased by the app
      await page.fill('#register-email', u1.email)
      await page.fill('#register-password', u1.password)
      await page.fill('#register-nickname', '测试用户')
      await page.locator('[data-testid="register-form"] button[type="submit"]').click()
      const done = page.locator('[data-testid="register-done"]')
      await done.waitFor()
      assert.match(await done.innerText(), new RegExp(u1.email.replace(/[.]/g, '\\.')))
      await shot(page, 'register-done-pc-zh.png')

      // Registering the same username again is a conflict shown at the field.
      const dup = await api('POST', '/auth/register', { username: u1.username, email: `x${u1.email}`, password: PASSWORD })
      assert.equal(dup.status, 409)
      assert.equal(dup.body.error.code, 'conflict')

      // Open the mailed link.
      const link = await activationPath(u1.email)
      await page.goto(`${base}${link}`)
      await page.locator('[data-testid="activate-success"]').waitFor()
      await shot(page, 'activate-success-pc-zh.png')

      // A used link fails clearly and offers a resend.
      const { page: page2, context: ctx2 } = await newPage()
      await page2.goto(`${base}${link}`)
      await page2.locator('[data-testid="activate-failed"]').waitFor()
      assert.match(await page2.locator('[data-testid="activate-failed"]').innerText(), /激活链接无效、已过期或已被使用/)
      await shot(page2, 'activate-failed-pc-zh.png')
      await ctx2.close()

      // Sign in through the form; the activation page pre-fills the username.
      await page.locator('[data-testid="activate-success"] a').click()
      await page.waitForURL(/\/login/)
      assert.equal(await page.inputValue('#login-login'), u1.username)
      await page.fill('#login-password', u1.password)
      await shot(page, 'login-pc-zh.png')
      await page.locator('[data-testid="login-form"] button[type="submit"]').click()
      await page.waitForURL(/\/chats$/)
      await page.locator('[data-testid="nav-me"], [data-testid="nav-me-rail"]').first().waitFor({ state: 'attached' })
      await page.goto(`${base}/profile`)
      await page.locator('[data-testid="profile-name"]', { hasText: '测试用户' }).waitFor()

      // Edit the profile.
      await page.fill('#profile-nickname', NICKNAME)
      await page.fill('#profile-signature', SIGNATURE)
      await page.selectOption('#profile-gender', 'other')
      await page.fill('#profile-birthday', '2000-02-29')
      await page.fill('#profile-location', '上海')
      await page.locator('[data-testid="profile-save"]').click()
      await page.locator('[data-testid="profile-saved"]').waitFor()

      // It persisted, exactly.
      await page.reload()
      await page.locator('[data-testid="profile-name"]').waitFor()
      assert.equal(await page.locator('[data-testid="profile-name"]').innerText(), NICKNAME)
      assert.equal(await page.inputValue('#profile-nickname'), NICKNAME)
      assert.equal(await page.inputValue('#profile-signature'), SIGNATURE)
      assert.equal(await page.inputValue('#profile-birthday'), '2000-02-29')
      const token = await page.evaluate(() => localStorage.getItem('lechat.token'))
      assert.ok(token, 'token in localStorage')
      const me = await api('GET', '/me', undefined, token)
      assert.equal(me.status, 200)
      assert.equal(me.body.username, u1.username)
      assert.equal(me.body.nickname, NICKNAME)
      assert.equal(me.body.signature, SIGNATURE)
      assert.equal(me.body.gender, 'other')
      assert.equal(me.body.birthday, '2000-02-29')
      assert.equal(me.body.location, '上海')
      await shot(page, 'profile-pc-zh.png')

      // Change the password: this session keeps working.
      await page.fill('#password-old', u1.password)
      await page.fill('#password-new', NEW_PASSWORD)
      await page.fill('#password-confirm', NEW_PASSWORD)
      await page.locator('[data-testid="password-form"] button[type="submit"]').click()
      await page.locator('[data-testid="password-done"]').waitFor()
      u1.password = NEW_PASSWORD
      assert.equal((await api('GET', '/me', undefined, token)).status, 200)
      // a wrong old password is reported at its field, and does not sign out
      await page.fill('#password-old', 'not-my-password')
      await page.fill('#password-new', 'another-pass-3')
      await page.fill('#password-confirm', 'another-pass-3')
      await page.locator('[data-testid="password-form"] button[type="submit"]').click()
      await page.getByText('当前密码不正确').waitFor()
      assert.match(page.url(), /\/profile$/)

      // Switch to English; the choice survives a reload.
      await page.locator('button[data-locale="en"]').click()
      await page.locator('h2', { hasText: 'Edit profile' }).waitFor()
      assert.equal((await page.locator('[data-testid="logout"]').innerText()).trim(), 'Sign out')
      assert.equal(await page.evaluate(() => localStorage.getItem('lechat.locale')), 'en')
      await page.reload()
      await page.locator('h2', { hasText: 'Change password' }).waitFor()
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en')
      await shot(page, 'profile-pc-en.png')
      await page.locator('button[data-locale="zh-CN"]').click()
      await page.locator('h2', { hasText: '编辑资料' }).waitFor()
      assert.equal((await page.locator('[data-testid="logout"]').innerText()).trim(), '退出登录')

      // Sign out: back at /login, token gone and revoked.
      await page.locator('[data-testid="logout"]').click()
      await page.waitForURL(/\/login/)
      assert.equal(await page.evaluate(() => localStorage.getItem('lechat.token')), null)
      assert.equal((await api('GET', '/me', undefined, token)).status, 401)
      await page.goto(`${base}/profile`)
      await page.waitForURL(/\/login\?redirect=/)

      // The installable-app manifest and its icons are served.
      const manifest = await page.evaluate(async () => {
        const href = document.querySelector('link[rel="manifest"]')?.getAttribute('href')
        const res = await fetch(href)
        return { status: res.status, body: await res.json() }
      })
      assert.equal(manifest.status, 200)
      assert.equal(manifest.body.display, 'standalone')
      for (const icon of manifest.body.icons) {
        const st = await page.evaluate(async (src) => (await fetch(src)).status, new URL(icon.src, `${base}/`).href)
        assert.equal(st, 200, icon.src)
      }

      // Unknown pages.
      await page.goto(`${base}/no/such/page`)
      await page.locator('[data-testid="not-found"]').waitFor()

      assert.deepEqual(problems, [])
    } finally {
      await context.close()
    }
  })

  test('signing in before activation explains why and offers a resend', { timeout: TEST_MS, skip: skipReason }, async () => {
    const u2 = { username: `e2e_${unique()}`, password: PASSWORD }
    const email = `${u2.username}@example.com`
    const reg = await api('POST', '/auth/register', { username: u2.username, email, password: u2.password })
    assert.equal(reg.status, 201)
    assert.equal(reg.body.user.activated, false)

    const { context, page, problems } = await newPage({ locale: 'en-US' })
    try {
      await page.goto(`${base}/login`)
      await page.locator('h1', { hasText: 'Sign in to LeChat' }).waitFor()
      // wrong password
      await page.fill('#login-login', u2.username)
      await page.fill('#login-password', 'wrong-password')
      await page.locator('[data-testid="login-form"] button[type="submit"]').click()
      await page.locator('[data-testid="login-error"]', { hasText: 'Wrong username/email or password' }).waitFor()
      // right password, inactive account (signing in by email this time)
      await page.fill('#login-login', email)
      await page.fill('#login-password', u2.password)
      await page.locator('[data-testid="login-form"] button[type="submit"]').click()
      const inactive = page.locator('[data-testid="login-inactive"]')
      await inactive.waitFor()
      assert.match(await inactive.innerText(), /not activated yet/)
      await shot(page, 'login-inactive-pc-en.png')
      assert.match(page.url(), /\/login/)
      assert.equal(await page.evaluate(() => localStorage.getItem('lechat.token')), null)

      // The resend link carries the email; sending answers politely.
      await inactive.locator('a').click()
      await page.waitForURL(/\/resend\?email=/)
      assert.equal(await page.inputValue('#resend-email'), email)
      await page.locator('form button[type="submit"]').click()
      await page.locator('[data-testid="resend-sent"]').waitFor()
      await shot(page, 'resend-pc-en.png')
      assert.deepEqual(problems, [])
    } finally {
      await context.close()
    }
  })

  test('phone layout: full width, touch-sized controls', { timeout: TEST_MS, skip: skipReason }, async () => {
    const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
    for (const locale of ['zh-CN', 'en-US']) {
      const { context, page, problems } = await newPage({ ...phone, locale })
      try {
        await page.goto(`${base}/login`)
        await page.locator('[data-testid="login-form"]').waitFor()
        const card = await page.locator('.auth-layout__card').boundingBox()
        assert.ok(card && Math.abs(card.width - 390) < 1, `card is full width on a phone (got ${card?.width})`)
        const small = await page.evaluate(() =>
          [...document.querySelectorAll('button, input, .links a')]
            .filter((el) => el.getClientRects().length > 0 && !el.classList.contains('visually-hidden'))
            .map((el) => ({ el: el.outerHTML.slice(0, 80), h: el.getBoundingClientRect().height }))
            .filter((x) => x.h < 44),
        )
        assert.deepEqual(small, [], 'every control is at least 44 px tall')
        const noScroll = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)
        assert.ok(noScroll, 'no horizontal scrolling')
        const tag = locale === 'zh-CN' ? 'zh' : 'en'
        await shot(page, `login-phone-${tag}.png`, false)
        await page.goto(`${base}/register`)
        await page.locator('[data-testid="register-form"]').waitFor()
        await shot(page, `register-phone-${tag}.png`)
        assert.deepEqual(problems, [])
      } finally {
        await context.close()
      }
    }

    // The profile page on a phone, signed in as the first user.
    const login = await api('POST', '/auth/login', { login: u1.username, password: u1.password })
    assert.equal(login.status, 200)
    const { context, page } = await newPage(phone)
    try {
      await context.addInitScript((t) => localStorage.setItem('lechat.token', t), login.body.token)
      await page.goto(`${base}/profile`)
      await page.locator('[data-testid="profile-name"]', { hasText: NICKNAME }).waitFor()
      const noScroll = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)
      assert.ok(noScroll, 'no horizontal scrolling on the profile page')
      await shot(page, 'profile-phone-zh.png')
    } finally {
      await context.close()
    }
  })
})
