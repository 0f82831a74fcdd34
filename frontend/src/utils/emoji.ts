// The emoji picker's data (searchable in English and Chinese), the built-in sticker set,
// and the check for a message that is a single emoji (drawn large).

export interface EmojiEntry {
  char: string
  /** English and Chinese search words, space separated. */
  words: string
}

export interface EmojiGroup {
  id: 'smileys' | 'people' | 'hearts' | 'nature' | 'food' | 'activity' | 'objects'
  items: EmojiEntry[]
}

function group(id: EmojiGroup['id'], rows: string): EmojiGroup {
  const items = rows
    .trim()
    .split('\n')
    .map((line) => {
      const [char = '', ...words] = line.trim().split(' ')
      return { char, words: words.join(' ').toLowerCase() }
    })
  return { id, items }
}

export const EMOJI_GROUPS: EmojiGroup[] = [
  group('smileys', `
😀 grin smile happy 笑 开心 高兴
😃 smile happy joy 笑 开心
😄 laugh smile happy 大笑 开心
😁 grin beaming 咧嘴笑 嘻嘻
😆 laugh squint 哈哈 大笑
😅 sweat smile nervous 尴尬 汗
🤣 rofl rolling laugh 笑哭 笑死
😂 joy tears laugh 笑哭 哭笑
🙂 slight smile 微笑
🙃 upside down 倒脸
😉 wink 眨眼
😊 blush smile 害羞 微笑
😇 angel innocent 天使
🥰 love hearts adore 喜欢 爱
😍 heart eyes love 花痴 爱心眼
🤩 star struck 崇拜 星星眼
😘 kiss blow 飞吻 亲亲
😋 yum tasty 好吃 馋
😛 tongue 吐舌
😜 wink tongue 调皮
🤪 zany crazy 疯狂 搞怪
🤗 hug 拥抱 抱抱
🤭 giggle oops 捂嘴笑
🤫 shush quiet 嘘
🤔 think hmm 思考 想
😐 neutral 无语 面无表情
😑 expressionless 无表情
😶 silent no mouth 沉默
😏 smirk 坏笑 得意
😒 unamused 不高兴 嫌弃
🙄 eye roll 翻白眼
😬 grimace 龇牙 尴尬
😌 relieved 欣慰 放松
😔 pensive sad 失落
😪 sleepy 困
🤤 drool 流口水
😴 sleep zzz 睡觉 睡着
😷 mask sick 口罩 生病
🤒 fever sick 发烧
🤧 sneeze 打喷嚏 感冒
🥵 hot 热
🥶 cold 冷
😵 dizzy 晕
🤯 mind blown 炸裂 震惊
🤠 cowboy 牛仔
🥳 party celebrate 庆祝 派对
😎 cool sunglasses 酷 墨镜
🤓 nerd 书呆子
🧐 monocle 审视
😕 confused 困惑
😟 worried 担心
🙁 frown 不开心
😮 surprised open mouth 惊讶
😲 astonished 震惊 吃惊
😳 flushed 脸红 尴尬
🥺 pleading puppy 可怜 求求
😢 cry sad tear 哭 难过
😭 sob loud cry 大哭 痛哭
😱 scream fear 惊恐 吓
😖 confounded 纠结
😣 persevere 忍耐
😞 disappointed 失望
😓 downcast sweat 汗
😩 weary 累 疲惫
😫 tired 好累
🥱 yawn 哈欠 困
😤 triumph huff 生气 哼
😡 angry rage 愤怒 生气
😠 mad angry 生气
🤬 cursing 骂人
😈 devil smiling 恶魔 坏笑
💀 skull dead 骷髅 死了
💩 poo 便便
🤡 clown 小丑
👻 ghost 鬼
👽 alien 外星人
🤖 robot 机器人
`),
  group('people', `
👋 wave hello hi bye 挥手 你好 再见
🤚 raised back hand 举手
✋ hand stop 手 停
👌 ok 好的 可以
🤌 pinched 捏
✌️ victory peace 胜利 耶
🤞 crossed fingers luck 祈祷 好运
🤟 love you 爱你
🤘 rock 摇滚
🤙 call me 打电话
👈 left 左
👉 right 右
👆 up 上
👇 down 下
👍 thumbs up like good yes 赞 点赞 好
👎 thumbs down dislike bad 踩 差
✊ fist 拳头
👊 punch 拳
👏 clap applause 鼓掌
🙌 raise hands hooray 举双手 欢呼
🤝 handshake deal 握手 合作
🙏 pray thanks please 拜托 谢谢 祈祷
💪 muscle strong 加油 肌肉 强
👀 eyes look 看 眼睛
🙈 see no evil 捂眼 害羞
🙉 hear no evil 捂耳
🙊 speak no evil 捂嘴
🙋 raise hand 举手
🤷 shrug 耸肩 不知道
🤦 facepalm 捂脸 无语
🙇 bow sorry 鞠躬 抱歉
💃 dance 跳舞
🏃 run 跑步
`),
  group('hearts', `
❤️ red heart love 爱心 红心 爱
🧡 orange heart 橙心
💛 yellow heart 黄心
💚 green heart 绿心
💙 blue heart 蓝心
💜 purple heart 紫心
🖤 black heart 黑心
🤍 white heart 白心
💔 broken heart 心碎
💕 two hearts 两颗心
💖 sparkling heart 闪亮的心
💯 hundred perfect 一百 满分
💢 anger 怒
💥 boom 爆炸
💫 dizzy star 晕
💦 sweat drops 汗滴
💬 speech 对话
💤 zzz sleep 睡觉
✨ sparkles 闪亮 星光
🔥 fire hot lit 火 厉害
⭐ star 星星
🌈 rainbow 彩虹
☀️ sun 太阳 晴
🌙 moon night 月亮 晚安
⚡ lightning 闪电
❄️ snow 雪花
☔ rain umbrella 下雨 雨伞
`),
  group('nature', `
🐶 dog puppy 狗 小狗
🐱 cat kitten 猫 小猫
🐭 mouse 老鼠
🐰 rabbit bunny 兔子
🦊 fox 狐狸
🐻 bear 熊
🐼 panda 熊猫
🐨 koala 考拉
🐯 tiger 老虎
🦁 lion 狮子
🐮 cow 牛
🐷 pig 猪
🐸 frog 青蛙
🐵 monkey 猴子
🐔 chicken 鸡
🐧 penguin 企鹅
🐦 bird 鸟
🦄 unicorn 独角兽
🐝 bee 蜜蜂
🦋 butterfly 蝴蝶
🐢 turtle 乌龟
🐟 fish 鱼
🐳 whale 鲸鱼
🌸 cherry blossom flower 樱花 花
🌹 rose 玫瑰
🌻 sunflower 向日葵
🌷 tulip 郁金香
🍀 clover luck 四叶草 幸运
🌲 tree 树
🌵 cactus 仙人掌
`),
  group('food', `
🍎 apple 苹果
🍊 orange 橘子
🍋 lemon 柠檬
🍉 watermelon 西瓜
🍇 grapes 葡萄
🍓 strawberry 草莓
🍑 peach 桃子
🥭 mango 芒果
🍍 pineapple 菠萝
🍌 banana 香蕉
🍔 burger 汉堡
🍟 fries 薯条
🍕 pizza 披萨
🍜 noodles ramen 面条 拉面
🍣 sushi 寿司
🍚 rice 米饭
🥟 dumpling 饺子
🍰 cake 蛋糕
🎂 birthday cake 生日蛋糕
🍦 ice cream 冰淇淋
🍫 chocolate 巧克力
🍬 candy 糖果
☕ coffee 咖啡
🍵 tea 茶
🧋 bubble tea 奶茶 珍珠奶茶
🍺 beer 啤酒
🍻 cheers 干杯
🥂 toast champagne 干杯 香槟
`),
  group('activity', `
🎉 party tada celebrate 庆祝 彩带 恭喜
🎊 confetti 彩球 庆祝
🎈 balloon 气球
🎁 gift present 礼物
🧧 red envelope 红包
🏮 lantern 灯笼
🎆 fireworks 烟花
🎄 christmas tree 圣诞树
🏆 trophy win 奖杯 冠军
🥇 gold medal first 金牌 第一
⚽ soccer football 足球
🏀 basketball 篮球
🏓 ping pong 乒乓球
🏸 badminton 羽毛球
🎮 game 游戏
🎲 dice 骰子
🎵 music note 音乐
🎤 microphone sing 唱歌 麦克风
🎬 movie 电影
📷 camera photo 相机 拍照
`),
  group('objects', `
📱 phone mobile 手机
💻 laptop computer 电脑
⌚ watch 手表
💡 idea bulb 灯泡 主意
📚 books study 书 学习
✏️ pencil 铅笔
📌 pin 图钉
📎 paperclip 回形针
🔑 key 钥匙
🔒 lock 锁
💰 money bag 钱袋
💸 money flying 花钱
🧾 receipt 收据
🚗 car 汽车
🚄 train high speed 高铁 火车
✈️ airplane flight 飞机
🏠 home house 家 房子
⏰ alarm clock 闹钟
📅 calendar 日历
✅ check done yes 对 完成
❌ cross no wrong 错 叉
❓ question 问号
❗ exclamation 感叹号
⭕ circle 圆圈
🆗 ok button 好的
🆒 cool button 酷
🈶 have 有
🉑 acceptable 可
🇨🇳 china flag 中国 国旗
`),
]

export const ALL_EMOJI: EmojiEntry[] = EMOJI_GROUPS.flatMap((g) => g.items)

/** Emoji whose words (or the character itself) match every word of the query. */
export function searchEmoji(query: string, limit = 64): EmojiEntry[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean)
  if (!words.length) return []
  return ALL_EMOJI.filter((e) => words.every((w) => e.char === w || e.words.includes(w))).slice(0, limit)
}

/** The built-in sticker set (the server knows the same names); pictures in public/stickers. */
export const STICKERS = [
  'wave', 'thumbs-up', 'laugh', 'cry', 'love', 'angry', 'surprised', 'sleepy',
  'party', 'ok', 'thanks', 'sorry', 'cool', 'thinking', 'facepalm', 'hug',
] as const
export type StickerName = (typeof STICKERS)[number]

export const STICKER_PREFIX = 'sticker:'

/** The sticker's name when content is "sticker:<known name>", else null. */
export function stickerName(content: unknown): StickerName | null {
  if (typeof content !== 'string' || !content.startsWith(STICKER_PREFIX)) return null
  const name = content.slice(STICKER_PREFIX.length)
  return (STICKERS as readonly string[]).includes(name) ? (name as StickerName) : null
}

// One emoji: a flag, a keycap, or a pictograph with optional variation selector,
// skin tone and ZWJ-joined parts (the shapes the server accepts for kind "emoji").
const ONE_EMOJI = String.raw`(?:\p{RI}\p{RI}|[#*0-9]\uFE0F?\u20E3|\p{Extended_Pictographic}\uFE0F?\p{EMod}?(?:\u200D\p{Extended_Pictographic}\uFE0F?\p{EMod}?)*)`
const SINGLE_RE = new RegExp(`^${ONE_EMOJI}$`, 'u')
const FEW_RE = new RegExp(`^(?:${ONE_EMOJI}\\s*){1,3}$`, 'u')

/** True for text that is exactly one emoji (sent as kind "emoji"). */
export function isSingleEmoji(text: string): boolean {
  return SINGLE_RE.test(text.trim())
}

/** True for text of one to three emoji and nothing else (drawn large). */
export function isFewEmoji(text: string): boolean {
  const s = text.trim()
  return !!s && FEW_RE.test(s)
}

const RECENT_KEY = 'lechat.recent_emoji'
const RECENT_MAX = 16

export function loadRecentEmoji(): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]')
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, RECENT_MAX) : []
  } catch {
    return []
  }
}

/** Puts an emoji (or "sticker:<name>") first in the recent list and returns the list. */
export function rememberEmoji(e: string, current = loadRecentEmoji()): string[] {
  const next = [e, ...current.filter((x) => x !== e)].slice(0, RECENT_MAX)
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(next))
  } catch {
    // storage blocked
  }
  return next
}
