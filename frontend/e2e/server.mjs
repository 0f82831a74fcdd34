// Shared by the end-to-end tests: starts the real LeChat binary on a free port with a
// fresh SQLite data dir (and, when asked, an in-test SMTP server that receives the
// activation mails), launches Debian's Chromium through playwright-core (never a
// downloaded browser), and cleans everything up.
//
// LECHAT_BIN (default ../bin/lechat — build the front end first, then
// `go build -o bin/lechat .` in the repo root, since the binary embeds frontend/dist),
// CHROMIUM_PATH (default /usr/bin/chromium), LECHAT_TEST_REQUIRE_SERVICES=1 turns a
// missing binary or browser into a failure instead of a skip.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = path.dirname(fileURLToPath(import.meta.url))
export const frontendDir = path.resolve(here, '..')
export const BIN = process.env.LECHAT_BIN || path.resolve(frontendDir, '../bin/lechat')
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
export const REQUIRE = process.env.LECHAT_TEST_REQUIRE_SERVICES === '1'
export const SHOTS = path.join(here, 'screenshots')
export const ACTIVATE_RE = /\/activate\?token=([A-Za-z0-9_-]+)/

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
export const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`

/** false when the test can run; else why it is skipped. */
export function whySkip() {
  if (REQUIRE) return false
  if (!existsSync(BIN)) {
    return `LeChat binary not found at ${BIN}: build it (cd .. && go build -o bin/lechat .) or set LECHAT_BIN; set LECHAT_TEST_REQUIRE_SERVICES=1 to make this a failure`
  }
  if (!existsSync(CHROMIUM)) {
    return `Chromium not found at ${CHROMIUM}: apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji, or set CHROMIUM_PATH; set LECHAT_TEST_REQUIRE_SERVICES=1 to make this a failure`
  }
  return false
}

export function freePort() {
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

/** Polls fn until it returns a truthy value, at most ms; throws msg() after. */
export async function until(fn, ms, msg) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(typeof msg === 'function' ? await msg() : msg)
    await sleep(100)
  }
}

// ---- a tiny mail catcher ----

function decodeQP(s) {
  const bytes = []
  const soft = s.replace(/=\r?\n/g, '')
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(...Buffer.from(soft[i], 'utf8'))
  }
  return Buffer.from(bytes).toString('utf8')
}

/** The decoded text/plain parts of a raw MIME message (enough for the activation mail). */
export function textParts(raw) {
  const out = []
  const walk = (entity) => {
    const split = entity.search(/\r?\n\r?\n/)
    const head = split < 0 ? entity : entity.slice(0, split)
    const body = split < 0 ? '' : entity.slice(split).replace(/^\r?\n\r?\n/, '')
    const headers = head.replace(/\r?\n[ \t]+/g, ' ')
    const type = /^content-type:\s*([^;\r\n]+)/im.exec(headers)?.[1]?.trim().toLowerCase() ?? 'text/plain'
    const boundary = /boundary="?([^";\r\n]+)"?/i.exec(headers)?.[1]
    if (type.startsWith('multipart/') && boundary) {
      for (const part of body.split(`--${boundary}`).slice(1)) {
        if (part.startsWith('--')) break
        walk(part.replace(/^\r?\n/, ''))
      }
      return
    }
    if (type !== 'text/plain') return
    const enc = /^content-transfer-encoding:\s*(\S+)/im.exec(headers)?.[1]?.toLowerCase() ?? '7bit'
    if (enc === 'base64') out.push(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8'))
    else if (enc === 'quoted-printable') out.push(decodeQP(body))
    else out.push(body)
  }
  walk(raw)
  return out
}

/** An SMTP server on 127.0.0.1 that keeps every mail: {port, mails, linkFor(email), close()}. */
export async function startMailCatcher() {
  const { SMTPServer } = await import('smtp-server')
  const mails = []
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = []
      stream.on('data', (c) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw, text: textParts(raw).join('\n') })
        callback()
      })
    },
  })
  const port = await freePort()
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    port,
    mails,
    /** The newest activation link (path and query) mailed to email, waiting up to 20 s. */
    async linkFor(email) {
      const want = email.toLowerCase()
      return until(
        () => {
          const mail = [...mails].reverse().find((m) => m.to.includes(want) && ACTIVATE_RE.test(m.text))
          return mail && `/activate?token=${ACTIVATE_RE.exec(mail.text)[1]}`
        },
        20_000,
        () => `no activation mail for ${email} arrived over SMTP (${mails.length} mails so far)`,
      )
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

// ---- the server ----

/**
 * Starts the binary. Options: smtp (an in-test SMTP server gets the mails; else they go
 * to the log), env (extra variables). Returns {base, log(), api(), activationFromLog(),
 * mail, restart(), stop()}.
 */
export async function startServer({ smtp = false, env: extraEnv = {} } = {}) {
  if (!existsSync(BIN)) throw new Error(`the LeChat binary is missing: ${BIN}`)
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lechat-e2e-'))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const mail = smtp ? await startMailCatcher() : null
  const env = {
    ...process.env,
    LECHAT_HTTP_ADDR: `127.0.0.1:${port}`,
    LECHAT_PUBLIC_URL: base,
    LECHAT_DATA_DIR: dataDir,
    LECHAT_DB_DRIVER: 'sqlite',
    LECHAT_CONFIG: path.join(dataDir, 'no-such-config.yaml'),
    ...extraEnv,
  }
  delete env.LECHAT_DB_DSN
  delete env.LECHAT_REDIS_URL
  delete env.LECHAT_ROBOT_LLM_URL
  if (mail) {
    env.LECHAT_SMTP_HOST = '127.0.0.1'
    env.LECHAT_SMTP_PORT = String(mail.port)
    env.LECHAT_SMTP_TLS = 'none'
    delete env.LECHAT_SMTP_USERNAME
    delete env.LECHAT_SMTP_PASSWORD
  } else {
    delete env.LECHAT_SMTP_HOST
  }

  let proc
  let exit = null
  let log = ''

  async function launch() {
    exit = null
    proc = spawn(BIN, [], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    proc.stdout.setEncoding('utf8').on('data', (d) => (log += d))
    proc.stderr.setEncoding('utf8').on('data', (d) => (log += d))
    proc.on('exit', (code, signal) => (exit = { code, signal }))
    proc.on('error', (err) => (exit = { error: err.message }))
    const deadline = Date.now() + 60_000
    for (;;) {
      if (exit) throw new Error(`server exited early (${JSON.stringify(exit)}):\n${log.slice(-4000)}`)
      try {
        const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) })
        if (res.status === 200) break
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`server not healthy within 60 s:\n${log.slice(-4000)}`)
      await sleep(200)
    }
  }

  async function halt() {
    if (!proc || exit) return
    proc.kill('SIGTERM')
    const deadline = Date.now() + 10_000
    while (!exit && Date.now() < deadline) await sleep(100)
    if (!exit) proc.kill('SIGKILL')
    while (!exit) await sleep(50)
  }

  await launch()
  const home = await (await fetch(`${base}/login`, { signal: AbortSignal.timeout(5_000) })).text()
  if (!home.includes('<div id="app">')) {
    await halt()
    throw new Error(
      `the server at ${BIN} does not serve the built app (it shows the "not built" page): ` +
        'run `npm run build` in frontend/, then `go build -o bin/lechat .`',
    )
  }

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
    let parsed
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = text
    }
    return { status: res.status, body: parsed }
  }

  return {
    base,
    dataDir,
    mail,
    log: () => log,
    api,
    /** The activation link mailed to email, read from the server's log (no SMTP host). */
    activationFromLog(email) {
      return until(
        () => {
          const line = log.split('\n').reverse().find((l) => l.includes(email) && ACTIVATE_RE.test(l))
          return line && `/activate?token=${ACTIVATE_RE.exec(line)[1]}`
        },
        20_000,
        () => `no activation link for ${email} in the server log:\n${log.slice(-4000)}`,
      )
    },
    /** Stops and starts the same server (same port and data): every socket drops. */
    async restart(pauseMs = 0) {
      await halt()
      if (pauseMs) await sleep(pauseMs)
      await launch()
    },
    async stop() {
      await halt()
      await mail?.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium fonts-noto-cjk fonts-noto-color-emoji, or set CHROMIUM_PATH`)
  }
  mkdirSync(SHOTS, { recursive: true })
  return chromium.launch({
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
}

/** A page in its own context, with bounded waits and a list of page errors and CSP refusals. */
export async function newPage(browser, options = {}, stepMs = 15_000) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN', ...options })
  const page = await context.newPage()
  page.setDefaultTimeout(stepMs)
  page.setDefaultNavigationTimeout(stepMs)
  const problems = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(`console: ${msg.text()}`)
  })
  return { context, page, problems }
}

export async function shot(page, name, fullPage = true) {
  await page.evaluate(() => document.fonts.ready)
  await page.screenshot({ path: path.join(SHOTS, name), fullPage })
}
