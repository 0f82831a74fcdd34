import { createPinia } from 'pinia'
import { createApp, watch } from 'vue'
import App from './App.vue'
import { configureClient } from './api/client'
import { locale } from './i18n'
import { createAppRouter, documentTitle } from './router'
import { EXPIRES_KEY, TOKEN_KEY, useAuthStore } from './stores/auth'
import { useConversationsStore } from './stores/conversations'
import { useRealtimeStore } from './stores/realtime'
import './styles/main.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
const router = createAppRouter()

const auth = useAuthStore(pinia)
configureClient({
  getToken: () => auth.token,
  // Any 401 to an authenticated request: the session is over; sign in again.
  onUnauthorized: () => {
    auth.handleUnauthorized()
    const current = router.currentRoute.value
    if (current.name !== 'login') {
      void router.replace({ name: 'login', query: current.meta.requiresAuth ? { redirect: current.fullPath } : {} })
    }
  },
})

// Another tab signed out (or in): follow it.
window.addEventListener('storage', (e) => {
  if (e.key !== TOKEN_KEY) return
  if (e.newValue) auth.setSession(e.newValue, localStorage.getItem(EXPIRES_KEY), null)
  else if (auth.token) {
    auth.clearSession()
    if (router.currentRoute.value.meta.requiresAuth) void router.replace({ name: 'login' })
  }
})

// One socket while signed in; signing out closes it and forgets the user's data.
const realtime = useRealtimeStore(pinia)
watch(
  () => auth.token,
  (token, old) => {
    if (token && token !== old) {
      if (old) realtime.stop()
      realtime.start()
    } else if (!token) realtime.stop()
  },
  { immediate: true },
)

// The tab's title carries the unread count: "(3) Chats · LeChat 乐聊".
const conversations = useConversationsStore(pinia)
watch([locale, () => conversations.totalUnread, router.currentRoute], () => {
  const n = conversations.totalUnread
  document.title = (n > 0 ? `(${n > 99 ? '99+' : n}) ` : '') + documentTitle(router.currentRoute.value)
})

app.use(router)
app.mount('#app')
