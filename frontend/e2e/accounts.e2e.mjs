// End-to-end test of the account pages against the real server and Debian's Chromium.
//
// It starts the LeChat binary (LECHAT_BIN, default ../bin/lechat — build the front end
// first, then `go build -o bin/lechat .`, since the binary embeds frontend/dist) on a
// free port with a fresh SQLite data dir and no SMTP host, so activation mails land in
// the server's log, where the test reads the links. Browser: CHROMIUM_PATH or
// /usr/bin/chromium; it never downloads one.
//
// Skipped only when the binary or Chromium is missing and LECHAT_TEST_REQUIRE_SERVICES is not '1'.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
const frontendDir = path.resolve(here, '..')
const BIN = process.env.LECHAT_BIN || path.resolve(frontendDir, '../bin/lechat')
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const REQUIRE = process.env.LECHAT_TEST_REQUIRE_SERVICES === '1'
const SHOTS = path.join(here, 'screenshots')
const STEP_MS = 15_000 // bound of every single browser wait
const TEST_MS = 180_000 // bound of one test

const NICKNAME = '小明 👨‍👩‍👧 🇨🇳'
const SIGNATURE = 'Hello 乐聊 ✨ 今天也要开心'
const PASSWORD = 'secret-pass-1'
const NEW_PASSWORD = 'secret-pass-2'
const ACTIVATE_RE = /\/activate\?token=([A-Za-z0-9_-]+)/

function whySkip() {
  if (REQUIRE) return false
  if (!existsSync(BIN)) {
    return `LeChat binary not found at ${BIN}: build it (cd .. && go build -o bin/lechat .) or set LECHAT_BIN; set LECHAT_TEST_REQUIRE_SERVICES=1 to make this a failure`
  }
  if (!existsSync(CHROMIUM)) {
    return `Chromium not found at ${CHROMIUM}: apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji, or set CHROMIUM_PATH; set LECHAT_TEST_REQUIRE_SERVICES=1 to make this a failure`
  }
  return false
}
const skipReason = whySkip()

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

describe('accounts in the browser', () => {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let server
  let serverExit = null
  let log = ''
  let base = ''
  let dataDir = ''
  /** @type {import('playwright-core').Browser | undefined} */
  let browser
  // The first user, shared by the tests below (they run in order).
  const u1 = { username: `e2e_${unique()}`, email: '', password: PASSWORD }
  u1.email = `${u1.username}@example.com`

  async function api(method, p, body, token) {
    const res = await fetch(`${base}/api/v1${p}`, {
      method,
      headers: {
        ...(body ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined }
  }

  /** The activation link mailed to email, read from the server's log. */
  async function activationPath(email) {
    const deadline = Date.now() + 20_000
    while (Date.now() < deadline) {
      const line = log.split('\n').reverse().find((l) => l.includes(email) && ACTIVATE_RE.test(l))
      if (line) return `/activate?token=${ACTIVATE_RE.exec(line)[1]}`
      await sleep(100)
    }
    throw new Error(`no activation link for ${email} in the server log:\n${log.slice(-4000)}`)
  }

  async function newPage(options = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN', ...options })
    const page = await context.newPage()
    page.setDefaultTimeout(STEP_MS)
    page.setDefaultNavigationTimeout(STEP_MS)
    const problems = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(`console: ${msg.text()}`)
    })
    return { context, page, problems }
  }

  async function shot(page, name, fullPage = true) {
    await page.evaluate(() => document.fonts.ready)
    await page.screenshot({ path: path.join(SHOTS, name), fullPage })
  }

  before(async () => {
    if (skipReason) return
    if (!existsSync(BIN)) throw new Error(`LECHAT_TEST_REQUIRE_SERVICES=1 but the LeChat binary is missing: ${BIN}`)
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji, or set CHROMIUM_PATH`)
    }
    mkdirSync(SHOTS, { recursive: true })
    dataDir = mkdtempSync(path.join(tmpdir(), 'lechat-e2e-'))
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    const env = {
      ...process.env,
      LECHAT_HTTP_ADDR: `127.0.0.1:${port}`,
      LECHAT_PUBLIC_URL: base,
      LECHAT_DATA_DIR: dataDir,
      LECHAT_DB_DRIVER: 'sqlite',
      LECHAT_CONFIG: path.join(dataDir, 'no-such-config.yaml'),
    }
    delete env.LECHAT_SMTP_HOST
    delete env.LECHAT_DB_DSN
    server = spawn(BIN, [], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    server.stdout.setEncoding('utf8').on('data', (d) => (log += d))
    server.stderr.setEncoding('utf8').on('data', (d) => (log += d))
    server.on('exit', (code, signal) => (serverExit = { code, signal }))
    server.on('error', (err) => (serverExit = { error: err.message }))

    const deadline = Date.now() + 60_000
    for (;;) {
      if (serverExit) throw new Error(`server exited early (${JSON.stringify(serverExit)}):\n${log.slice(-4000)}`)
      try {
        const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) })
        if (res.status === 200) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`server not healthy within 60 s:\n${log.slice(-4000)}`)
      await sleep(200)
    }

    const home = await (await fetch(`${base}/login`, { signal: AbortSignal.timeout(5_000) })).text()
    if (!home.includes('<div id="app">')) {
      throw new Error(
        `the server at ${BIN} does not serve the built app (it shows the "not built" page): ` +
          'run `npm run build` in frontend/, then `go build -o bin/lechat .`',
      )
    }

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 60_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  })

  after(async () => {
    try {
      await browser?.close()
    } catch {
      // already gone
    }
    if (server && !serverExit) {
      server.kill('SIGTERM')
      const deadline = Date.now() + 10_000
      while (!serverExit && Date.now() < deadline) await sleep(100)
      if (!serverExit) server.kill('SIGKILL')
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
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
      await page.waitForURL(/\/profile$/)
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
