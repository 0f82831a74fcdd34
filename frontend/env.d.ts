/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Base URL of the LeChat server; '' (default) means the page's own origin. */
  readonly VITE_API_URL?: string
  /** Base URL for the WebSocket; '' derives it from VITE_API_URL or the page. */
  readonly VITE_WS_URL?: string
  /** 'hash' for the Cordova build (pages load from files); 'history' otherwise. */
  readonly VITE_ROUTER_MODE?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}

interface ImportMetaEnv {
  /** '1' makes the server URL a setting asked for on first start (as in the Cordova build). */
  readonly VITE_SERVER_SETTING?: string
}
