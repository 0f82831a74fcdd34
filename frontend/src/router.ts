// Routes. Pages are lazy-loaded; history mode on the web, hash mode in the Cordova app.
import {
  createRouter,
  createWebHashHistory,
  createWebHistory,
  type RouteLocationNormalized,
  type Router,
  type RouterHistory,
} from 'vue-router'
import { config } from '@/config'
import { t, type MessageKey } from '@/i18n'
import { useAuthStore } from '@/stores/auth'

declare module 'vue-router' {
  interface RouteMeta {
    /** Only for signed-in users; others go to /login?redirect=… */
    requiresAuth?: boolean
    /** Only for signed-out users; signed-in ones go to /profile. */
    guestOnly?: boolean
    /** i18n key of the document title. */
    titleKey?: MessageKey
  }
}

/** Where to go after signing in: only same-app paths, never another origin. */
export function safeRedirect(target: unknown, fallback = '/profile'): string {
  if (typeof target !== 'string') return fallback
  if (!target.startsWith('/') || target.startsWith('//') || target.startsWith('/\\')) return fallback
  if (target === '/login' || target.startsWith('/login?')) return fallback
  return target
}

export function documentTitle(route: Pick<RouteLocationNormalized, 'meta'>): string {
  const app = t('app.name')
  return route.meta.titleKey ? `${t(route.meta.titleKey)} · ${app}` : app
}

export function createAppRouter(history?: RouterHistory): Router {
  const router = createRouter({
    history: history ?? (config.routerMode === 'hash' ? createWebHashHistory() : createWebHistory(import.meta.env.BASE_URL)),
    routes: [
      {
        path: '/',
        name: 'home',
        redirect: () => (useAuthStore().checkExpiry() ? { name: 'profile' } : { name: 'login' }),
      },
      {
        path: '/login',
        name: 'login',
        component: () => import('@/pages/LoginPage.vue'),
        meta: { guestOnly: true, titleKey: 'login.submit' },
      },
      {
        path: '/register',
        name: 'register',
        component: () => import('@/pages/RegisterPage.vue'),
        meta: { guestOnly: true, titleKey: 'register.submit' },
      },
      {
        path: '/activate',
        name: 'activate',
        component: () => import('@/pages/ActivatePage.vue'),
        meta: { titleKey: 'activate.title' },
      },
      {
        path: '/resend',
        name: 'resend',
        component: () => import('@/pages/ResendPage.vue'),
        meta: { titleKey: 'resend.title' },
      },
      {
        path: '/profile',
        name: 'profile',
        component: () => import('@/pages/ProfilePage.vue'),
        meta: { requiresAuth: true, titleKey: 'profile.title' },
      },
      {
        path: '/:pathMatch(.*)*',
        name: 'not-found',
        component: () => import('@/pages/NotFoundPage.vue'),
        meta: { titleKey: 'notFound.title' },
      },
    ],
    scrollBehavior: () => ({ top: 0 }),
  })

  router.beforeEach((to) => {
    const auth = useAuthStore()
    const loggedIn = auth.checkExpiry()
    if (to.meta.requiresAuth && !loggedIn) {
      return { name: 'login', query: { redirect: to.fullPath } }
    }
    if (to.meta.guestOnly && loggedIn) {
      return safeRedirect(to.query.redirect)
    }
    return true
  })

  router.afterEach((to) => {
    if (typeof document !== 'undefined') document.title = documentTitle(to)
  })

  return router
}
