// Routes. Pages are lazy-loaded; history mode on the web, hash mode in the Cordova app.
import {
  createRouter,
  createWebHashHistory,
  createWebHistory,
  type RouteLocationNormalized,
  type Router,
  type RouterHistory,
} from 'vue-router'
import { config, needsServerUrl } from '@/config'
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
    /** Which tab of the signed-in app the page belongs to. */
    section?: 'chats' | 'contacts' | 'me'
    /** A page of its own on a phone (list hidden, back button shown). */
    detail?: boolean
  }
}

/** Where to go after signing in: only same-app paths, never another origin. */
export function safeRedirect(target: unknown, fallback = '/chats'): string {
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
        path: '/server',
        name: 'server',
        component: () => import('@/pages/ServerSetupPage.vue'),
        meta: { titleKey: 'server.title' },
      },
      {
        path: '/',
        component: () => import('@/components/AppShell.vue'),
        meta: { requiresAuth: true },
        children: [
          { path: '', name: 'home', redirect: { name: 'chats' } },
          {
            path: 'chats',
            name: 'chats',
            component: () => import('@/pages/EmptyPane.vue'),
            meta: { section: 'chats', titleKey: 'nav.chats' },
          },
          {
            path: 'chats/:id(\\d+)',
            name: 'chat',
            component: () => import('@/pages/ChatPage.vue'),
            meta: { section: 'chats', detail: true, titleKey: 'nav.chats' },
          },
          {
            path: 'contacts',
            name: 'contacts',
            component: () => import('@/pages/EmptyPane.vue'),
            meta: { section: 'contacts', titleKey: 'nav.contacts' },
          },
          {
            path: 'contacts/add',
            name: 'friend-add',
            component: () => import('@/pages/FriendAddPage.vue'),
            meta: { section: 'contacts', detail: true, titleKey: 'friends.addTitle' },
          },
          {
            path: 'contacts/requests',
            name: 'friend-requests',
            component: () => import('@/pages/FriendRequestsPage.vue'),
            meta: { section: 'contacts', detail: true, titleKey: 'friends.requestsTitle' },
          },
          {
            path: 'contacts/:userId(\\d+)',
            name: 'contact',
            component: () => import('@/pages/ContactPage.vue'),
            meta: { section: 'contacts', detail: true, titleKey: 'contact.title' },
          },
          {
            path: 'groups/new',
            name: 'group-create',
            component: () => import('@/pages/GroupCreatePage.vue'),
            meta: { section: 'contacts', detail: true, titleKey: 'groups.createTitle' },
          },
          {
            path: 'groups/find',
            name: 'group-search',
            component: () => import('@/pages/GroupSearchPage.vue'),
            meta: { section: 'contacts', detail: true, titleKey: 'groups.searchTitle' },
          },
          {
            path: 'groups/:groupId(\\d+)',
            name: 'group',
            component: () => import('@/pages/GroupPage.vue'),
            meta: { section: 'contacts', detail: true, titleKey: 'groups.infoTitle' },
          },
          {
            path: 'profile',
            name: 'profile',
            component: () => import('@/pages/ProfilePage.vue'),
            meta: { section: 'me', titleKey: 'profile.title' },
          },
        ],
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
    // The Android app asks for its server first.
    if (needsServerUrl() && to.name !== 'server') return { name: 'server', query: { redirect: to.fullPath } }
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
