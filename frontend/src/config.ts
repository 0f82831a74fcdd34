// Build-time settings, read once, plus the one run-time setting of the Android app:
// the server's URL, asked for on first start and kept in localStorage. Everything else
// imports `config` (and serverBase/mediaUrl) from here.

function trimSlash(url: string): string {
  return url.trim().replace(/\/+$/, '')
}

const env = import.meta.env

/** localStorage key of the server URL chosen in the app. */
export const SERVER_URL_KEY = 'lechat.server_url'

export interface AppConfig {
  /** Base of the server, '' for the page's own origin; API calls go to `${apiUrl}/api/v1`. */
  readonly apiUrl: string
  /** Base of the WebSocket endpoint ('' = derive from apiUrl or the page). */
  readonly wsUrl: string
  /** Router history: 'hash' in the Cordova build, 'history' on the web. */
  readonly routerMode: 'history' | 'hash'
  /** True in the Android app's build: the server URL is a setting the app asks for. */
  readonly serverSetting: boolean
}

const isCordovaBuild = env.MODE === 'cordova' || env.VITE_SERVER_SETTING === '1'

function storedServer(): string {
  try {
    return typeof localStorage === 'undefined' ? '' : trimSlash(localStorage.getItem(SERVER_URL_KEY) ?? '')
  } catch {
    return ''
  }
}

let runtimeServer = isCordovaBuild ? storedServer() : ''

export const config: AppConfig = Object.freeze({
  get apiUrl() {
    return runtimeServer || trimSlash(env.VITE_API_URL ?? '')
  },
  get wsUrl() {
    return runtimeServer ? '' : trimSlash(env.VITE_WS_URL ?? '')
  },
  routerMode: env.VITE_ROUTER_MODE === 'hash' || isCordovaBuild ? 'hash' : 'history',
  serverSetting: isCordovaBuild,
})

/** Whether the app still has to ask for its server (Android app, first start). */
export function needsServerUrl(): boolean {
  return config.serverSetting && !config.apiUrl
}

/** Normalizes what a person typed as a server address; null when it is not http(s). */
export function normalizeServerUrl(raw: string): string | null {
  let v = raw.trim()
  if (!v) return null
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) v = `https://${v}`
  try {
    const u = new URL(v)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null
    if (!u.hostname) return null
    return trimSlash(`${u.protocol}//${u.host}${u.pathname}`)
  } catch {
    return null
  }
}

/** Sets (or with '' forgets) the server of the Android app. */
export function setServerUrl(url: string): void {
  runtimeServer = trimSlash(url)
  try {
    if (runtimeServer) localStorage.setItem(SERVER_URL_KEY, runtimeServer)
    else localStorage.removeItem(SERVER_URL_KEY)
  } catch {
    // blocked storage: the setting lasts for this run only
  }
}

/** The WebSocket endpoint's URL (without the token). */
export function socketUrl(): string {
  if (config.wsUrl) return /\/ws$/.test(config.wsUrl) ? config.wsUrl : `${config.wsUrl}/ws`
  const base = config.apiUrl || (typeof location !== 'undefined' ? location.origin : 'http://localhost')
  return `${base.replace(/^http/i, 'ws')}/ws`
}

/**
 * The URL to load a server file (an uploaded image, an avatar) from: paths on the
 * server get the server's base, so they also work from the Android app's files.
 * Anything that is not a server path or an http(s) URL gives ''.
 */
export function mediaUrl(path: string | null | undefined): string {
  if (!path) return ''
  if (path.startsWith('/') && !path.startsWith('//')) return `${config.apiUrl}${path}`
  if (/^https?:\/\//i.test(path) || path.startsWith('blob:') || path.startsWith('data:image/')) return path
  return ''
}

/** URL of a file shipped with the app (public/), relative in the Android build. */
export function assetUrl(path: string): string {
  return `${env.BASE_URL ?? '/'}${path.replace(/^\//, '')}`
}
