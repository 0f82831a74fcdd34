package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
	"gorm.io/gorm"

	"lechat/model"
)

// RobotUsername is the robot's account, made by a migration in every installation.
const RobotUsername = "robot"

// RobotConfig tunes the robot.
type RobotConfig struct {
	ContextMessages int           // recent messages sent to the bot as context
	ReplyTimeout    time.Duration // bound of one reply, bot included
	Concurrency     int           // replies being made at once, all conversations together
	PerUserRate     float64       // messages a second a user may send it, sustained
	PerUserBurst    int
}

// Robot answers whoever writes to it in a private conversation. Its replies take
// the same path as any message (stored with a seq, pushed with message.new,
// counted as unread). Replies are made off the hub's goroutines, at most one at a
// time per conversation; a user who floods it is told to slow down, once, and
// then ignored until their rate drops.
type Robot struct {
	ID   uint64
	db   *gorm.DB
	chat *Chat
	bot  Bot
	cfg  RobotConfig
	log  *slog.Logger
	sem  chan struct{}

	mu       sync.Mutex
	closed   bool
	busy     map[uint64]bool // conversation → a reply is being made
	again    map[uint64]bool // conversation → more came in meanwhile
	limiters map[uint64]*userLimit
	work     sync.WaitGroup
}

type userLimit struct {
	lim    *rate.Limiter
	warned time.Time
	seen   time.Time
}

// NewRobot finds the robot's account and hooks the robot into chat: it may talk
// with anyone, and hears every message sent to it.
func NewRobot(db *gorm.DB, chat *Chat, bot Bot, cfg RobotConfig, log *slog.Logger) (*Robot, error) {
	var u model.User
	if err := db.Where("username = ?", RobotUsername).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("find the robot's account: %w", err)
	}
	if cfg.ContextMessages <= 0 {
		cfg.ContextMessages = 10
	}
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = 45 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.PerUserRate <= 0 {
		cfg.PerUserRate = 0.5
	}
	if cfg.PerUserBurst <= 0 {
		cfg.PerUserBurst = 5
	}
	r := &Robot{ID: u.ID, db: db, chat: chat, bot: bot, cfg: cfg, log: log,
		sem: make(chan struct{}, cfg.Concurrency), busy: map[uint64]bool{}, again: map[uint64]bool{},
		limiters: map[uint64]*userLimit{}}
	chat.MayMessage = func(a, b uint64) bool { return a == r.ID || b == r.ID }
	chat.RobotID = r.ID
	chat.AfterSend = r.heard
	return r, nil
}

// Close waits for the replies under way; later messages get no reply.
func (r *Robot) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.work.Wait()
}

// heard is told of every stored message. It never blocks.
func (r *Robot) heard(msg *model.Message, members []uint64) {
	if msg.SenderID == r.ID || len(members) != 2 || !contains(members, r.ID) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	now := time.Now()
	l := r.limiters[msg.SenderID]
	if l == nil {
		if len(r.limiters) > 100_000 {
			r.forgetIdle(now)
		}
		l = &userLimit{lim: rate.NewLimiter(rate.Limit(r.cfg.PerUserRate), r.cfg.PerUserBurst)}
		r.limiters[msg.SenderID] = l
	}
	l.seen = now
	slowDown := false
	if !l.lim.AllowN(now, 1) {
		if now.Sub(l.warned) < time.Minute {
			return // told already: ignore the flood
		}
		l.warned, slowDown = now, true
	}
	conv := msg.ConversationID
	if r.busy[conv] {
		r.again[conv] = true
		return
	}
	r.busy[conv] = true
	r.work.Add(1)
	go r.replyLoop(conv, slowDown)
}

func (r *Robot) forgetIdle(now time.Time) {
	for id, l := range r.limiters {
		if now.Sub(l.seen) > 10*time.Minute {
			delete(r.limiters, id)
		}
	}
}

// replyLoop answers conversation conv until nothing new came in meanwhile.
func (r *Robot) replyLoop(conv uint64, slowDown bool) {
	defer r.work.Done()
	for {
		r.sem <- struct{}{}
		r.reply(conv, slowDown)
		<-r.sem
		slowDown = false
		r.mu.Lock()
		if !r.again[conv] || r.closed {
			delete(r.busy, conv)
			delete(r.again, conv)
			r.mu.Unlock()
			return
		}
		delete(r.again, conv)
		r.mu.Unlock()
	}
}

// reply makes and sends one answer to the newest user message of conv.
func (r *Robot) reply(conv uint64, slowDown bool) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ReplyTimeout)
	defer cancel()
	ctx = model.WithUserID(ctx, r.ID)
	history, last, err := r.history(ctx, conv)
	if err != nil || last == nil {
		if err != nil {
			r.log.Error("robot cannot read the conversation", "conversation_id", conv, "err", err)
		}
		return
	}
	zh := isChinese(last.Content)
	var text string
	switch {
	case slowDown:
		text = pickLang(zh, "你发得太快了，我歇一会儿再回复你。", "You're sending messages too fast; I'll take a short break.")
	default:
		text, err = r.bot.Reply(ctx, history)
		if err != nil {
			r.log.Warn("robot could not answer", "conversation_id", conv, "err", err)
			text = pickLang(zh, "抱歉，我现在连不上我的大脑，请稍后再试。", "Sorry, I can't reach my brain right now. Please try again later.")
		}
	}
	text = clip(text, model.MaxTextLen)
	content, _ := json.Marshal(text)
	id := "robot-" + strconv.FormatUint(last.ID, 10)
	if slowDown {
		id += "-slow"
	}
	if _, _, err := r.chat.Send(ctx, model.NewMessage{ConversationID: conv, ClientMsgID: id,
		Kind: model.KindText, Content: content}); err != nil && !errors.Is(err, model.ErrForbidden) {
		r.log.Error("robot reply not sent", "conversation_id", conv, "err", err)
	}
}

// history returns the recent turns of conv and its newest user message.
func (r *Robot) history(ctx context.Context, conv uint64) ([]BotTurn, *model.Message, error) {
	var msgs []model.Message
	err := r.db.WithContext(ctx).Where("conversation_id = ?", conv).Order("seq DESC").
		Limit(r.cfg.ContextMessages).Find(&msgs).Error
	if err != nil {
		return nil, nil, err
	}
	var last *model.Message
	turns := make([]BotTurn, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		m := &msgs[i]
		text := m.Content
		switch m.Kind {
		case model.KindImage:
			text = "[image]"
		case model.KindEmoji:
			if len(text) > 8 && text[:8] == "sticker:" {
				text = "[sticker " + text[8:] + "]"
			}
		}
		turns = append(turns, BotTurn{FromUser: m.SenderID != r.ID, Text: text})
		if m.SenderID != r.ID {
			last = m
		}
	}
	return turns, last, nil
}

func pickLang(zh bool, zhText, enText string) string {
	if zh {
		return zhText
	}
	return enText
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
