// Build-time settings, read once. Everything else imports `config` from here.

function trimSlash(url: string): string {
  return url.trim().replace(/\/+$/, '')
}

const env = import.meta.env

export interface AppConfig {
  /** Base of the server, '' for the page's own origin; API calls go to `${apiUrl}/api/v1`. */
  readonly apiUrl: string
  /** Base of the WebSocket endpoint ('' = derive from apiUrl or the page). */
  readonly wsUrl: string
  /** Router history: 'hash' in the Cordova build, 'history' on the web. */
  readonly routerMode: 'history' | 'hash'
}

export const config: AppConfig = Object.freeze({
  apiUrl: trimSlash(env.VITE_API_URL ?? ''),
  wsUrl: trimSlash(env.VITE_WS_URL ?? ''),
  routerMode: env.VITE_ROUTER_MODE === 'hash' || env.MODE === 'cordova' ? 'hash' : 'history',
})
