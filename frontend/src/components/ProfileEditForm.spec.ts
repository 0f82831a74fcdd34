import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import type { User } from '@/api/types'
import ProfileEditForm from './ProfileEditForm.vue'

const base: User = {
  id: 1,
  username: 'alice',
  email: 'alice@example.com',
  nickname: '测试用户',
  avatar_url: '',
  signature: '',
  gender: '',
  birthday: '',
  location: '',
  activated: true,
  created_at: '2026-11-22T00:00:00Z',
}

describe('ProfileEditForm', () => {
  it('keeps what the user typed when fresher profile data arrives', async () => {
    const pinia = createPinia()
    setActivePinia(pinia)
    const wrapper = mount(ProfileEditForm, { props: { user: base }, global: { plugins: [pinia] } })
    const nickname = wrapper.find<HTMLInputElement>('#profile-nickname')
    await nickname.setValue('小明 👨‍👩‍👧 🇨🇳')

    // GET /me answers late, with another field changed elsewhere.
    await wrapper.setProps({ user: { ...base, location: '上海' } })
    await nextTick()

    expect(nickname.element.value).toBe('小明 👨‍👩‍👧 🇨🇳')
    expect(wrapper.find<HTMLInputElement>('#profile-location').element.value).toBe('上海')
  })

  it('shows fresh data in fields the user did not touch', async () => {
    const pinia = createPinia()
    setActivePinia(pinia)
    const wrapper = mount(ProfileEditForm, { props: { user: base }, global: { plugins: [pinia] } })
    await wrapper.setProps({ user: { ...base, nickname: 'Alice 2' } })
    await nextTick()
    expect(wrapper.find<HTMLInputElement>('#profile-nickname').element.value).toBe('Alice 2')
  })
})
