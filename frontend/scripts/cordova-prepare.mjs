// npm run cordova:prepare — builds the web app for the Android app and hands it to Cordova:
//   1. vite build --mode cordova (relative base, hash routing, the server URL as a
//      setting) into cordova/www;
//   2. adds to www/index.html the Content-Security-Policy, cordova.js, and — when
//      LECHAT_SERVER_URL is set — that server as the pre-filled default, with the CSP
//      narrowed to it (without it, the CSP allows any http(s)/ws(s) server, since the
//      person types the address on first start);
//   3. installs cordova-android from npm (once) and runs `cordova prepare android`.
// Building the APK needs the Android SDK: see docs/android.md.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cordovaDir = path.join(root, 'cordova')
const www = path.join(cordovaDir, 'www')
const bin = (name) => path.join(root, 'node_modules', '.bin', name)

function run(cmd, args, cwd) {
  console.log(`$ ${[cmd, ...args].join(' ')}   (in ${path.relative(root, cwd) || '.'})`)
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit', env: { ...process.env, CI: process.env.CI ?? '1' } })
  if (r.error) throw r.error
  if (r.status !== 0) process.exit(r.status ?? 1)
}

/** The CSP of the app's page: its own files, and the server (or any, when unknown). */
export function appCsp(serverUrl) {
  let connect = "https: http: wss: ws:"
  let img = 'https: http:'
  if (serverUrl) {
    const u = new URL(serverUrl)
    const ws = `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}`
    connect = `${u.origin} ${ws}`
    img = u.origin
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob: ${img}`,
    `connect-src 'self' ${connect}`,
    "font-src 'self' data:",
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
  ].join('; ')
}

const server = (process.env.LECHAT_SERVER_URL ?? '').trim().replace(/\/+$/, '')
if (server && !/^https?:\/\/[^/]+/.test(server)) {
  console.error(`LECHAT_SERVER_URL must be an http(s) URL, got ${server}`)
  process.exit(2)
}

// 1. the web build
run(bin('vite'), ['build', '--mode', 'cordova', '--outDir', www, '--emptyOutDir'], root)

// 2. the page's policy, Cordova's script, the default server
const indexPath = path.join(www, 'index.html')
let html = readFileSync(indexPath, 'utf8')
const head = [
  `<meta http-equiv="Content-Security-Policy" content="${appCsp(server)}" />`,
  server ? `<meta name="lechat-server" content="${server}" />` : '',
  '<script src="cordova.js"></script>',
]
  .filter(Boolean)
  .join('\n    ')
html = html.includes('<meta charset="UTF-8" />')
  ? html.replace('<meta charset="UTF-8" />', `<meta charset="UTF-8" />\n    ${head}`)
  : html.replace('<head>', `<head>\n    ${head}`)
writeFileSync(indexPath, html)
console.log(`www/index.html: CSP for ${server || 'any server (asked on first start)'}`)

// 3. Cordova
if (!existsSync(path.join(cordovaDir, 'node_modules', 'cordova-android'))) {
  run('npm', ['install', '--no-audit', '--no-fund'], cordovaDir)
}
run(bin('cordova'), ['prepare', 'android', '--no-telemetry'], cordovaDir)
console.log('Done: cordova/platforms/android is ready. Build the APK with the Android SDK (docs/android.md).')
