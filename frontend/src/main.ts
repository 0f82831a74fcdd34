import { createPinia } from 'pinia'
import { createApp, watch } from 'vue'
import App from './App.vue'
import { configureClient } from './api/client'
import { locale } from './i18n'
import { createAppRouter, documentTitle } from './router'
import { EXPIRES_KEY, TOKEN_KEY, useAuthStore } from './stores/auth'
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

watch(locale, () => {
  document.title = documentTitle(router.currentRoute.value)
})

app.use(router)
app.mount('#app')
