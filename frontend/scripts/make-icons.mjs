// Renders the app icon (public/favicon.svg) to the PNGs that home screens and the
// Android app need: public/icons/icon-{192,512}.png, a maskable 512 with a safe margin,
// apple-touch-icon 180, and cordova/res/icon.png (1024). Uses Debian's Chromium through
// playwright-core (CHROMIUM_PATH, default /usr/bin/chromium). Run: npm run icons
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const svg = readFileSync(path.join(root, 'public/favicon.svg'), 'utf8')
const dataUrl = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`

const targets = [
  { file: 'public/icons/icon-192.png', size: 192, pad: 0, bg: 'transparent' },
  { file: 'public/icons/icon-512.png', size: 512, pad: 0, bg: 'transparent' },
  { file: 'public/icons/maskable-512.png', size: 512, pad: 0.12, bg: '#07c160' },
  { file: 'public/icons/apple-touch-icon.png', size: 180, pad: 0, bg: '#07c160' },
  { file: 'cordova/res/icon.png', size: 1024, pad: 0, bg: 'transparent' },
]

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
})
try {
  for (const t of targets) {
    const page = await browser.newPage({ viewport: { width: t.size, height: t.size } })
    const inner = Math.round(t.size * (1 - 2 * t.pad))
    await page.setContent(
      `<html><body style="margin:0;background:${t.bg}"><div style="width:${t.size}px;height:${t.size}px;display:flex;align-items:center;justify-content:center">` +
        `<img src="${dataUrl}" width="${inner}" height="${inner}"></div></body></html>`,
    )
    mkdirSync(path.dirname(path.join(root, t.file)), { recursive: true })
    await page.screenshot({ path: path.join(root, t.file), omitBackground: t.bg === 'transparent' })
    await page.close()
    console.log('wrote', t.file)
  }
} finally {
  await browser.close()
}
