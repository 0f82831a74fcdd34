// End-to-end test of chatting, against the real server and Debian's Chromium, once on
// a PC-sized window and once at a phone's size (390×844, touch):
//   two users register and activate through the UI (the mails arrive over SMTP at a
//   server inside this test), become friends, chat both ways in real time (markup in a
//   message stays text, links open safely), send an emoji, a sticker and an image, one
//   goes offline and sees what was missed after reconnecting (also across a server
//   restart), a group of three chats, and the robot answers.
// Screenshots of each main screen go to e2e/screenshots/ (git-ignored).
import assert from 'node:assert/strict'
import { deflateSync } from 'node:zlib'
import { after, before, describe, test } from 'node:test'
import { launchBrowser, newPage, shot, startServer, unique, until, whySkip } from './server.mjs'

const STEP_MS = 15_000 // bound of every single browser wait
const TEST_MS = 420_000 // bound of one whole flow
const PASSWORD = 'secret-pass-1'
const skipReason = whySkip()

const PC = { viewport: { width: 1280, height: 860 } }
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }

/** A small PNG (solid colour with a stripe), made here so the test needs no files. */
function makePng(width = 64, height = 48) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (buf) => {
    let c = 0xffffffff
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type), data])
    const c = Buffer.alloc(4)
    c.writeUInt32BE(crc(td))
    return Buffer.concat([len, td, c])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  const rows = []
  for (let y = 0; y < height; y++) {
    const row = [0]
    for (let x = 0; x < width; x++) row.push(...(y > height / 3 && y < (2 * height) / 3 ? [7, 193, 96] : [255, 216, 77]))
    rows.push(Buffer.from(row))
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

describe('chatting in the browser', () => {
  let server
  let browser

  before(async () => {
    if (skipReason) return
    server = await startServer({ smtp: true, env: { LECHAT_RATE_LIMITS: 'off' } })
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

  for (const [size, device] of [['pc', PC], ['phone', PHONE]]) {
    test(`two friends, a group of three and the robot (${size})`, { timeout: TEST_MS, skip: skipReason }, async () => {
      await flow(size, device)
    })
  }

  async function flow(size, device) {
    const phone = size === 'phone'
    const tag = unique()
    const users = ['a', 'b', 'c'].map((k) => ({
      key: k,
      username: `${k}_${tag}`,
      email: `${k}_${tag}@example.com`,
      nickname: { a: '阿明 Ming', b: 'Bella 小贝', c: '小c Chen' }[k],
    }))
    const [A, B, C] = users
    const opened = []
    const open = async (locale) => {
      const p = await newPage(browser, { ...device, locale }, STEP_MS)
      opened.push(p)
      return p
    }
    const snap = (page, name, lang) => shot(page, `${name}-${size}-${lang}.png`, false)

    try {
      // ---------- register and activate through the UI (mail over SMTP) ----------
      const a = await open('zh-CN')
      const b = await open('en-US')
      for (const [u, p] of [[A, a.page], [B, b.page]]) {
        await p.goto(`${server.base}/register`)
        await p.fill('#register-username', u.username)
        await p.fill('#register-email', u.email)
        await p.fill('#register-password', PASSWORD)
        await p.fill('#register-nickname', u.nickname)
        await p.locator('[data-testid="register-form"] button[type="submit"]').click()
        await p.locator('[data-testid="register-done"]').waitFor()
        const link = await server.mail.linkFor(u.email)
        await p.goto(`${server.base}${link}`)
        await p.locator('[data-testid="activate-success"]').waitFor()
        await p.locator('[data-testid="activate-success"] a').click()
        await p.waitForURL(/\/login/)
        await p.fill('#login-password', PASSWORD)
        await p.locator('[data-testid="login-form"] button[type="submit"]').click()
        await p.waitForURL(/\/chats$/)
      }
      // C signs up through the API (its mail also arrives over SMTP).
      assert.equal((await server.api('POST', '/auth/register', { username: C.username, email: C.email, password: PASSWORD, nickname: C.nickname })).status, 201)
      const cToken = new URL(`http://x${await server.mail.linkFor(C.email)}`).searchParams.get('token')
      assert.equal((await server.api('POST', '/auth/activate', { token: cToken })).status, 200)
      for (const u of users) {
        const r = await server.api('POST', '/auth/login', { login: u.username, password: PASSWORD })
        assert.equal(r.status, 200)
        u.token = r.body.token
        u.id = r.body.user.id
      }

      // The robot is in everyone's list from the start.
      await a.page.locator('[data-testid^="conversation-"][data-name*="LeChat Bot"]').waitFor()
      await snap(a.page, 'chats-empty', 'zh')

      // A tab: the rail on a PC; on a phone the tab bar, after going back from a page.
      const goTab = async (p, tab) => {
        const link = p.locator(`[data-testid="nav-${tab}${phone ? '' : '-rail'}"]`)
        for (let i = 0; i < 4 && phone && !(await link.isVisible()); i++) await p.locator('[data-testid="back"]').click()
        await link.click()
      }

      // ---------- A asks B to be friends; B sees the badge live and accepts ----------
      await goTab(a.page, 'contacts')
      await a.page.locator('a[href$="/contacts/add"]').first().click()
      await a.page.fill('[data-testid="user-search"]', B.username)
      await a.page.locator('[data-testid="user-search-form"] button[type="submit"]').click()
      await a.page.locator(`[data-testid="user-${B.username}"] [data-testid="add-friend"]`).click()
      await a.page.locator(`[data-testid="user-${B.username}"] [data-testid="request-sent"]`).waitFor()
      await snap(a.page, 'friend-add', 'zh')

      await goTab(b.page, 'contacts')
      const badge = b.page.locator(`[data-testid="nav-contacts${phone ? '' : '-rail'}"] .badge`)
      await badge.waitFor()
      assert.equal((await badge.innerText()).trim(), '1')
      await b.page.locator('[data-testid="new-friends"]').click()
      const incoming = b.page.locator(`[data-testid="incoming-${A.username}"]`)
      await incoming.waitFor()
      await snap(b.page, 'friend-requests', 'en')
      await incoming.locator('[data-testid="accept"]').click()
      await incoming.waitFor({ state: 'detached' })

      // A's contacts get B live (friend.accepted); B sets a remark for A.
      if (phone) await a.page.locator('[data-testid="back"]').click()
      await a.page.locator(`[data-testid="friend-${B.username}"]`).click()
      await a.page.locator('[data-testid="contact-name"]', { hasText: B.nickname }).waitFor()
      if (phone) await b.page.locator('[data-testid="back"]').click()
      await b.page.locator(`[data-testid="friend-${A.username}"]`).click()
      await b.page.locator('[data-testid="remark-edit"]').click()
      await b.page.fill('[data-testid="remark-input"]', 'Ming 🎓')
      await b.page.locator('[data-testid="remark-save"]').click()
      await b.page.locator('[data-testid="contact-name"]', { hasText: 'Ming 🎓' }).waitFor()
      await snap(b.page, 'contact', 'en')

      // ---------- A writes to B ----------
      await a.page.locator('[data-testid="send-message"]').click()
      await a.page.waitForURL(/\/chats\/\d+$/)
      const convId = Number(/\/chats\/(\d+)$/.exec(a.page.url())[1])
      const input = (p) => p.locator('[data-testid="composer-input"]')
      const send = async (p, text) => {
        await input(p).fill(text)
        if (phone) await p.locator('[data-testid="send"]').click()
        else await input(p).press('Enter')
      }
      const tricky = '你好 Bella! <script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> see https://example.com/a?b=1 and javascript:alert(1)'
      // Shift+Enter breaks the line on a PC (Enter sends).
      if (!phone) {
        await input(a.page).fill('first line')
        await input(a.page).press('Shift+Enter')
        await input(a.page).type('second line')
        assert.equal(await input(a.page).inputValue(), 'first line\nsecond line')
        await input(a.page).press('Enter')
        await a.page.locator('[data-testid="message"][data-mine="true"] [data-testid="bubble"]', { hasText: 'second line' }).waitFor()
      }
      await send(a.page, tricky)
      const lastMine = a.page.locator('[data-testid="message"][data-mine="true"]').last()
      await lastMine.locator('[data-testid="bubble"]', { hasText: 'Bella!' }).waitFor()
      await until(async () => ['sent', 'delivered', 'read'].includes(await lastMine.getAttribute('data-status')), STEP_MS, 'A’s message never became sent')

      // B: the conversation appears on top, unread, updated live; B opens it.
      await goTab(b.page, 'chats')
      const bItem = b.page.locator(`[data-testid="conversation-${convId}"]`)
      await bItem.locator('[data-testid="unread-badge"]').waitFor()
      assert.equal(await b.page.locator('a[data-name][data-testid^="conversation-"]').first().getAttribute('data-testid'), `conversation-${convId}`)
      assert.match(await bItem.innerText(), /Ming 🎓/) // remark first
      await snap(b.page, 'chats', 'en')
      await bItem.click()
      const bubble = b.page.locator('[data-testid="message"][data-mine="false"] [data-testid="bubble"]', { hasText: 'Bella!' })
      await bubble.waitFor()
      // Markup shows as text; nothing ran; the link is safe; javascript: is no link.
      assert.equal(await bubble.innerText(), tricky)
      assert.equal(await bubble.locator('script, img').count(), 0)
      assert.equal(await b.page.evaluate(() => window.__pwned ?? null), null)
      const links = bubble.locator('a')
      assert.equal(await links.count(), 1)
      assert.equal(await links.first().getAttribute('href'), 'https://example.com/a?b=1')
      assert.equal(await links.first().getAttribute('target'), '_blank')
      assert.equal(await links.first().getAttribute('rel'), 'noopener noreferrer')
      if (!phone) await b.page.locator('[data-testid="day-separator"]').first().waitFor()

      // A sees B online, then typing; B's reading marks A's message read.
      await a.page.locator('[data-testid="chat-subtitle"]', { hasText: '在线' }).waitFor()
      await input(b.page).type('Hi')
      await a.page.locator('[data-testid="chat-subtitle"]', { hasText: '对方正在输入' }).waitFor()
      await until(async () => (await lastMine.getAttribute('data-status')) === 'read', STEP_MS, 'A’s message never showed as read')
      await input(b.page).fill('')
      await send(b.page, 'Hi Ming, nice to meet you 😀')
      await a.page.locator('[data-testid="message"][data-mine="false"] [data-testid="bubble"]', { hasText: 'nice to meet you' }).waitFor()

      // ---------- emoji, sticker, image ----------
      await a.page.locator('[data-testid="emoji-button"]').click()
      await a.page.locator('[data-testid="emoji-picker"]').waitFor()
      await snap(a.page, 'emoji-picker', 'zh')
      await a.page.fill('[data-testid="emoji-search"]', '笑哭')
      await a.page.locator('[data-testid="emoji-option"]', { hasText: '😂' }).first().click()
      assert.equal(await input(a.page).inputValue(), '😂')
      if (phone) await a.page.locator('[data-testid="send"]').click()
      else await input(a.page).press('Enter')
      await b.page.locator('[data-testid="message"][data-kind="emoji"] [data-testid="big-emoji"]', { hasText: '😂' }).waitFor()
      await a.page.locator('[data-testid="emoji-button"]').click()
      await a.page.locator('[data-testid="tab-stickers"]').click()
      await a.page.locator('[data-testid="sticker-party"]').waitFor()
      await snap(a.page, 'sticker-picker', 'zh')
      await a.page.locator('[data-testid="sticker-party"]').click()
      const sticker = b.page.locator('[data-testid="message"][data-mine="false"] [data-testid="sticker"]').last()
      await sticker.waitFor()
      assert.match(await sticker.getAttribute('src'), /stickers\/party\.svg$/)
      assert.ok(await sticker.evaluate((img) => img.complete && img.naturalWidth > 0), 'the sticker picture loads')

      await a.page.locator('[data-testid="image-input"]').setInputFiles({ name: 'stripe.png', mimeType: 'image/png', buffer: makePng() })
      await a.page.locator('[data-testid="image-preview"]').waitFor()
      await snap(a.page, 'image-preview', 'zh')
      await a.page.locator('[data-testid="image-send"]').click()
      const myImage = a.page.locator('[data-testid="message"][data-mine="true"][data-kind="image"]').last()
      await until(async () => ['sent', 'delivered', 'read'].includes(await myImage.getAttribute('data-status')), 30_000, 'the image was never sent')
      const theirImage = b.page.locator('[data-testid="message"][data-mine="false"][data-kind="image"]').last()
      await theirImage.waitFor()
      await until(() => theirImage.locator('img').evaluate((img) => img.complete && img.naturalWidth > 0), STEP_MS, 'the image did not load for B')
      await snap(b.page, 'chat', 'en')
      await snap(a.page, 'chat', 'zh')
      // Images also come by drag-and-drop and by paste (PC): each asks first.
      if (!phone) {
        const fire = (how) =>
          a.page.evaluate(
            ([b64, kind]) => {
              const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))
              const dt = new DataTransfer()
              dt.items.add(new File([bytes], `${kind}.png`, { type: 'image/png' }))
              if (kind === 'paste') {
                document.querySelector('[data-testid="composer-input"]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
              } else {
                const el = document.querySelector('.chat-page')
                for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }))
              }
            },
            [makePng(20, 20).toString('base64'), how],
          )
        for (const how of ['drop', 'paste']) {
          await fire(how)
          await a.page.locator('[data-testid="image-preview"] img').waitFor()
          await a.page.locator('[data-testid="image-cancel"]').click()
          await a.page.locator('[data-testid="image-preview"]').waitFor({ state: 'detached' })
        }
      }
      await theirImage.locator('[data-testid="image-message"]').click()
      await b.page.locator('[data-testid="image-viewer"]').waitFor()
      await until(() => b.page.locator('[data-testid="image-viewer"] img').evaluate((img) => img.complete && img.naturalWidth === 64), STEP_MS, 'the full image did not load')
      await snap(b.page, 'image-viewer', 'en')
      await b.page.keyboard.press('Escape')
      await b.page.locator('[data-testid="image-viewer"]').waitFor({ state: 'detached' })

      // ---------- B goes offline; A writes; B reconnects and sees it all ----------
      await b.context.setOffline(true)
      await b.page.evaluate(() => window.dispatchEvent(new Event('offline')))
      // B's page is left while offline (e.g. the phone sleeps): gone from the chat.
      await goTab(b.page, 'contacts')
      await send(a.page, 'missed one')
      await send(a.page, 'missed two')
      await a.page.locator('[data-testid="message"][data-mine="true"] [data-testid="bubble"]', { hasText: 'missed two' }).waitFor()
      await until(async () => (await a.page.locator('[data-testid="message"][data-mine="true"]').last().getAttribute('data-status')) !== 'sending', STEP_MS, 'not acked')
      await b.context.setOffline(false)
      // Reloading is how a phone comes back; the socket reconnects and resyncs by seq.
      await b.page.reload()
      await goTab(b.page, 'chats')
      await bItem.locator('[data-testid="unread-badge"]', { hasText: '2' }).waitFor()
      await bItem.click()
      await b.page.locator('[data-testid="bubble"]', { hasText: 'missed two' }).waitFor()
      await b.page.locator('[data-testid="bubble"]', { hasText: 'missed one' }).waitFor()

      // A real reconnect: the server restarts; both sockets drop and come back; what A
      // sends right after is delivered to B without a reload.
      await server.restart()
      await send(a.page, 'after the restart')
      await b.page.locator('[data-testid="bubble"]', { hasText: 'after the restart' }).waitFor({ timeout: 45_000 })
      const seqs = await b.page.locator('[data-testid="message"][data-seq]:not([data-seq=""])').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)))
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in seq order')
      assert.equal(new Set(seqs).size, seqs.length, 'no duplicates')

      // ---------- a group of three ----------
      const cReq = await server.api('POST', '/friend-requests', { to_user_id: A.id }, C.token)
      assert.equal(cReq.status, 201)
      assert.equal((await server.api('POST', `/friend-requests/${cReq.body.id}/accept`, undefined, A.token)).status, 200)
      const c = await open('zh-CN')
      await c.context.addInitScript((t) => localStorage.setItem('lechat.token', t), C.token)
      await c.page.goto(`${server.base}/chats`)

      await goTab(a.page, 'contacts')
      await a.page.locator('[data-testid="group-create-link"]').click()
      const groupName = `乐聊小组 🎉 ${tag.slice(-4)}`
      await a.page.fill('[data-testid="group-name"]', groupName)
      await a.page.locator(`[data-testid="pick-${B.username}"]`).click()
      await a.page.locator(`[data-testid="pick-${C.username}"]`).click()
      await snap(a.page, 'group-create', 'zh')
      await a.page.locator('[data-testid="group-create-submit"]').click()
      await a.page.waitForURL(/\/chats\/\d+$/)
      const groupConv = Number(/\/chats\/(\d+)$/.exec(a.page.url())[1])
      await send(a.page, '大家好，欢迎来到群聊！')
      for (const p of [b.page, c.page]) {
        await goTab(p, 'chats')
        const item = p.locator(`[data-testid="conversation-${groupConv}"]`)
        await item.locator('[data-testid="unread-badge"]').waitFor()
        await item.click()
        await p.locator('[data-testid="bubble"]', { hasText: '欢迎来到群聊' }).waitFor()
      }
      await send(c.page, '我是小c，收到！')
      await a.page.locator('[data-testid="bubble"]', { hasText: '我是小c' }).waitFor()
      await b.page.locator('[data-testid="bubble"]', { hasText: '我是小c' }).waitFor()
      // sender names show in groups
      await b.page.locator('[data-testid="message"][data-mine="false"]', { hasText: C.nickname }).last().waitFor()
      await snap(b.page, 'group-chat', 'en')

      // Group management: A (owner) makes B an admin and edits the notice.
      await a.page.locator('[data-testid="chat-info"]').click()
      await a.page.locator(`[data-testid="member-${B.username}"] [data-testid="make-admin"]`).click()
      await a.page.locator(`[data-testid="member-${B.username}"] [data-testid="member-role"]`).waitFor()
      await a.page.locator('[data-testid="group-edit"]').click()
      await a.page.fill('[data-testid="group-edit-notice"]', '每周五晚上八点见\nSee you on Friday')
      await a.page.locator('[data-testid="group-edit-save"]').click()
      await a.page.locator('[data-testid="group-notice-text"]', { hasText: '每周五' }).waitFor()
      await snap(a.page, 'group-info', 'zh')

      // ---------- the robot answers ----------
      await goTab(a.page, 'chats')
      await a.page.locator('[data-testid^="conversation-"][data-name*="LeChat Bot"]').click()
      await a.page.waitForURL(/\/chats\/\d+$/)
      await send(a.page, '你好')
      await a.page.locator('[data-testid="message"][data-mine="false"]').first().waitFor({ timeout: 30_000 })
      await snap(a.page, 'robot', 'zh')

      // ---------- the rest of the screens ----------
      await goTab(b.page, 'contacts')
      await b.page.locator(`[data-testid="friend-${A.username}"]`).waitFor()
      await snap(b.page, 'contacts', 'en')
      await goTab(a.page, 'me')
      await a.page.locator('[data-testid="profile-name"]').waitFor()
      await snap(a.page, 'profile', 'zh')
      await goTab(a.page, 'chats')
      await a.page.locator(`[data-testid="conversation-${groupConv}"]`).waitFor()
      await snap(a.page, 'chats', 'zh')

      // Titles carry the unread count: A has none left; a new message to B's other chat shows.
      assert.doesNotMatch(await a.page.title(), /^\(\d+\)/)
      await goTab(b.page, 'chats')
      await send(c.page, 'one more')
      await until(async () => /^\(1\)/.test(await b.page.title()), STEP_MS, async () => `B's title has no unread count: ${await b.page.title()}`)

      // No horizontal scrolling anywhere we went, on a phone.
      if (phone) {
        for (const p of [a.page, b.page, c.page]) {
          assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal scrolling')
        }
      }
      for (const p of opened) assert.deepEqual(p.problems, [])
    } finally {
      for (const p of opened) await p.context.close().catch(() => undefined)
    }
  }
})
