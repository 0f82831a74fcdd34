// End-to-end test of the Android app's build (vite build --mode cordova): relative asset
// paths, hash routing, and the server URL as a setting. The bundle is served from its
// own origin (http://localhost:<port>, as the WebView serves it from https://localhost),
// and must reach the real server through absolute API and WebSocket URLs — CORS and the
// socket's origin check included.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { freePort, frontendDir, launchBrowser, newPage, shot, startServer, unique, whySkip } from './server.mjs'

const STEP_MS = 15_000
const skipReason = whySkip()
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' }

describe('the Android app build', () => {
  let server
  let browser
  let outDir = ''
  let files
  let appBase = ''

  before(async () => {
    if (skipReason) return
    outDir = mkdtempSync(path.join(tmpdir(), 'lechat-app-'))
    const build = spawnSync(path.join(frontendDir, 'node_modules/.bin/vite'), ['build', '--mode', 'cordova', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: frontendDir,
      encoding: 'utf8',
      timeout: 180_000,
    })
    assert.equal(build.status, 0, `vite build --mode cordova failed:\n${build.stderr}`)
    const port = await freePort()
    appBase = `http://localhost:${port}`
    files = http.createServer((req, res) => {
      const p = path.normalize(decodeURIComponent(new URL(req.url, appBase).pathname)).replace(/^(\.\.[/\\])+/, '')
      const file = path.join(outDir, p === '/' ? 'index.html' : p)
      try {
        if (!file.startsWith(outDir) || !statSync(file).isFile()) throw new Error('no file')
        res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' })
        res.end(readFileSync(file))
      } catch {
        res.writeHead(404)
        res.end()
      }
    })
    await new Promise((resolve) => files.listen(port, '127.0.0.1', resolve))
    server = await startServer({ env: { LECHAT_RATE_LIMITS: 'off', LECHAT_CORS_ORIGINS: appBase } })
    browser = await launchBrowser()
  })

  after(async () => {
    try {
      await browser?.close()
    } catch {
      // already gone
    }
    await server?.stop()
    await new Promise((resolve) => (files ? files.close(() => resolve()) : resolve()))
    if (outDir) rmSync(outDir, { recursive: true, force: true })
  })

  test('asks for the server, signs in and chats with the robot over it', { timeout: 120_000, skip: skipReason }, async () => {
    const username = `app_${unique()}`
    const email = `${username}@example.com`
    assert.equal((await server.api('POST', '/auth/register', { username, email, password: 'secret-pass-1' })).status, 201)
    const link = await server.activationFromLog(email)
    assert.equal((await server.api('POST', '/auth/activate', { token: new URL(`http://x${link}`).searchParams.get('token') })).status, 200)

    const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
    const { context, page, problems } = await newPage(browser, { ...phone, locale: 'zh-CN' }, STEP_MS)
    try {
      // All asset paths are relative: the bundle works from any folder.
      const html = readFileSync(path.join(outDir, 'index.html'), 'utf8')
      assert.doesNotMatch(html, /(src|href)="\/(?!\/)/, 'no absolute asset paths')

      await page.goto(`${appBase}/index.html`)
      await page.waitForURL(/#\/server/)
      await page.locator('[data-testid="server-form"]').waitFor()
      await shot(page, 'app-server-phone-zh.png', false)
      // A wrong address is refused clearly.
      await page.fill('#server-url', 'http://127.0.0.1:1')
      await page.locator('[data-testid="server-form"] button[type="submit"]').click()
      await page.getByText('无法连接到这个地址上的乐聊服务器').waitFor()
      await page.fill('#server-url', server.base)
      await page.locator('[data-testid="server-form"] button[type="submit"]').click()
      await page.waitForURL(/#\/login/)
      assert.equal(await page.evaluate(() => localStorage.getItem('lechat.server_url')), server.base)
      await page.locator('[data-testid="login-server"]', { hasText: server.base }).waitFor()

      await page.fill('#login-login', username)
      await page.fill('#login-password', 'secret-pass-1')
      await page.locator('[data-testid="login-form"] button[type="submit"]').click()
      await page.waitForURL(/#\/chats$/)
      const robot = page.locator('a[data-name*="LeChat Bot"]')
      await robot.click()
      await page.waitForURL(/#\/chats\/\d+$/)
      await page.fill('[data-testid="composer-input"]', '你好')
      await page.locator('[data-testid="send"]').click()
      await page.locator('[data-testid="message"][data-mine="false"]').first().waitFor({ timeout: 30_000 })
      // A sticker loads from the bundle's own files.
      await page.locator('[data-testid="emoji-button"]').click()
      await page.locator('[data-testid="tab-stickers"]').click()
      await page.locator('[data-testid="sticker-thanks"]').click()
      const sticker = page.locator('[data-testid="message"][data-mine="true"] [data-testid="sticker"]').last()
      await sticker.waitFor()
      await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await sticker.elementHandle())
      await shot(page, 'app-robot-phone-zh.png', false)
      // A reload keeps the server and the session (hash routing).
      await page.reload()
      await page.locator('[data-testid="composer-input"]').waitFor()
      assert.deepEqual(problems, [])
    } finally {
      await context.close()
    }
  })
})
