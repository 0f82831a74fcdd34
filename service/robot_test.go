package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

func TestRuleBot(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC) // a Sunday
	bot := &service.RuleBot{Now: func() time.Time { return at }}
	tests := []struct {
		say  string
		want string // a part of the answer
	}{
		{"你好", "你好！我是乐聊机器人"},
		{"hello there", "Hello! I'm the LeChat robot"},
		{"Hi", "Hello!"},
		{"帮助", "我是乐聊机器人。你可以"},
		{"help", "I'm the LeChat robot. You can"},
		{"现在几点？", "现在是 09:05（UTC）"},
		{"what time is it?", "It's 09:05 (UTC)"},
		{"今天几号", "今天是 2026 年 11 月 22 日，星期日"},
		{"what's the date today", "Today is Sunday, 22 November 2026"},
		{"12*(3+4)", "12*(3+4) = 84"},
		{"计算 7/2", "7/2 = 3.5"},
		{"what is 2 + 2?", "2+2 = 4"},
		{"1/0", "I can't work that out: division by zero"},
		{"计算 1/0", "不能除以零"},
		{"讲个笑话", "程序员"},
		{"tell me a joke", "Why do programmers prefer dark mode"},
		{"谢谢", "不客气"},
		{"thanks!", "You're welcome"},
		{"量子力学是什么", "抱歉，我没听懂"},
		{"explain quantum physics", "Sorry, I didn't understand"},
		{"this is history", "Sorry, I didn't understand"}, // "hi" inside a word is no greeting
	}
	for _, tt := range tests {
		got, err := bot.Reply(context.Background(), []service.BotTurn{{FromUser: true, Text: tt.say}})
		if err != nil || !strings.Contains(got, tt.want) {
			t.Errorf("Reply(%q) = %q, %v; want it to contain %q", tt.say, got, err, tt.want)
		}
	}
	// A second joke is another one.
	first, _ := bot.Reply(context.Background(), []service.BotTurn{{FromUser: true, Text: "joke"}})
	second, _ := bot.Reply(context.Background(), []service.BotTurn{{FromUser: true, Text: "joke"},
		{Text: first}, {FromUser: true, Text: "another joke"}})
	if first == second {
		t.Errorf("the same joke twice: %q", first)
	}
}

func TestRuleBotArithmeticEdges(t *testing.T) {
	bot := &service.RuleBot{}
	for _, tt := range []struct{ say, want string }{
		{"-3*-3", "= 9"},
		{"((((1))))+1", "= 2"},
		{"0.1+0.2", "= 0.3"},
		{"(1+2", "can't work that out"},
		{"1++", "can't work that out"},
		{strings.Repeat("9", 40) + "*2", "too large"},
		{strings.Repeat("(", 60) + "1+1" + strings.Repeat(")", 60), "too large"},
	} {
		got, _ := bot.Reply(context.Background(), []service.BotTurn{{FromUser: true, Text: tt.say}})
		if !strings.Contains(got, tt.want) {
			t.Errorf("Reply(%q) = %q, want %q in it", tt.say, got, tt.want)
		}
	}
}

// completions is a local chat-completions endpoint for the LLM client's tests.
func completions(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/chat/completions"
}

func TestLLMBot(t *testing.T) {
	history := []service.BotTurn{{FromUser: true, Text: "你好"}, {Text: "你好！"}, {FromUser: true, Text: "1+1?"}}

	t.Run("answers with the conversation as context", func(t *testing.T) {
		var got struct {
			Model    string `json:"model"`
			Messages []struct{ Role, Content string }
		}
		var auth string
		url := completions(t, func(w http.ResponseWriter, r *http.Request) {
			auth = r.Header.Get("Authorization")
			json.NewDecoder(r.Body).Decode(&got)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":" 等于 2 "}}]}`))
		})
		bot := service.NewLLMBot(service.LLMConfig{URL: url, Model: "tiny", Key: "k-123", Timeout: 5 * time.Second})
		answer, err := bot.Reply(context.Background(), history)
		if err != nil || answer != "等于 2" {
			t.Fatalf("Reply = %q, %v", answer, err)
		}
		if got.Model != "tiny" || auth != "Bearer k-123" || len(got.Messages) != 4 || got.Messages[0].Role != "system" ||
			got.Messages[1].Role != "user" || got.Messages[2].Role != "assistant" || got.Messages[3].Content != "1+1?" {
			t.Errorf("request: model %q, auth %q, messages %+v", got.Model, auth, got.Messages)
		}
	})

	failures := map[string]http.HandlerFunc{
		"server error": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			w.Write([]byte(`{"error":{"message":"model overloaded"}}`))
		},
		"not JSON":   func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>proxy error</html>")) },
		"no choices": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"choices":[]}`)) },
		"too slow": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		},
	}
	for name, h := range failures {
		t.Run(name, func(t *testing.T) {
			bot := service.NewLLMBot(service.LLMConfig{URL: completions(t, h), Model: "m", Timeout: 200 * time.Millisecond})
			if answer, err := bot.Reply(context.Background(), history); err == nil {
				t.Errorf("Reply = %q, want an error", answer)
			}
		})
	}
}

// scriptedBot answers with a fixed text, or fails; it can hold every answer until released.
type scriptedBot struct {
	answer string
	err    error
	hold   chan struct{}
	calls  atomic.Int32
}

func (b *scriptedBot) Reply(ctx context.Context, _ []service.BotTurn) (string, error) {
	b.calls.Add(1)
	if b.hold != nil {
		select {
		case <-b.hold:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return b.answer, b.err
}

// robotBed is a chat service with a robot.
func robotBed(t *testing.T, db *gorm.DB, bot service.Bot, cfg service.RobotConfig) (*social, *service.Chat, *service.Robot) {
	s := newSocial(t, db)
	chat := service.NewChat(db, servicetest.Logger())
	chat.Notifier = s.events
	robot, err := service.NewRobot(db, chat, bot, cfg, servicetest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(robot.Close)
	return s, chat, robot
}

// waitMessages polls until conv holds n messages (bounded) and returns them.
func waitMessages(t *testing.T, chat *service.Chat, ctx context.Context, conv uint64, n int) []model.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := chat.Messages(ctx, conv, service.HistoryRequest{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= n || time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRobotRepliesThroughTheMessagePath(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s, chat, robot := robotBed(t, db, &service.RuleBot{}, service.RobotConfig{})
		u, ctx := s.user()
		// Everyone's list includes the robot, no friend request needed.
		list, err := chat.Conversations(ctx, service.PageRequest{})
		if err != nil || len(list.Items) != 1 || list.Items[0].Peer == nil || list.Items[0].Peer.ID != robot.ID {
			t.Fatalf("conversations = %+v, %v", list.Items, err)
		}
		if list.Items[0].Peer.Username != service.RobotUsername || !strings.Contains(list.Items[0].Peer.Nickname, "乐聊机器人") {
			t.Errorf("robot peer %+v", list.Items[0].Peer)
		}
		conv := list.Items[0].ID
		if _, _, err := chat.Send(ctx, text(conv, "q-1", "你好")); err != nil {
			t.Fatal(err)
		}
		msgs := waitMessages(t, chat, ctx, conv, 2)
		if len(msgs) != 2 || msgs[1].SenderID != robot.ID || msgs[1].Seq != 2 || !strings.Contains(msgs[1].Content, "乐聊机器人") {
			t.Fatalf("messages %+v", msgs)
		}
		// Pushed like any message, and unread until read.
		var pushed bool
		for _, e := range s.events.Events(model.EventMessageNew) {
			if m := e.Event.Data.(model.MessageEvent).Message; m.SenderID == robot.ID && sameIDs(e.To, u.ID, robot.ID) {
				pushed = true
			}
		}
		if !pushed {
			t.Error("the reply was not pushed as message.new")
		}
		v, _ := chat.Conversation(ctx, conv)
		if v.Unread != 1 || v.LastMessage == nil || v.LastMessage.SenderID != robot.ID {
			t.Errorf("after the reply %+v", v)
		}
	})
}

func TestRobotSaysWhenItCannotAnswer(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s, chat, robot := robotBed(t, db, &scriptedBot{err: errors.New("connection refused")}, service.RobotConfig{})
		_, ctx := s.user()
		conv, err := chat.OpenPrivate(ctx, robot.ID)
		if err != nil {
			t.Fatal(err)
		}
		chat.Send(ctx, text(conv.ID, "q-1", "hello?"))
		msgs := waitMessages(t, chat, ctx, conv.ID, 2)
		if len(msgs) != 2 || !strings.Contains(msgs[1].Content, "can't reach my brain") {
			t.Fatalf("messages %+v", msgs)
		}
	})
}

func TestRobotOneReplyAtATimeAndFloodLimit(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		bot := &scriptedBot{answer: "ok", hold: make(chan struct{})}
		s, chat, robot := robotBed(t, db, bot, service.RobotConfig{PerUserRate: 0.01, PerUserBurst: 3})
		_, ctx := s.user()
		conv, _ := chat.OpenPrivate(ctx, robot.ID)
		// Three messages while the first reply is being made: one more reply follows, not three.
		for i, q := range []string{"a", "b", "c"} {
			if _, _, err := chat.Send(ctx, text(conv.ID, "q-"+q, q)); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				for bot.calls.Load() == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}
		close(bot.hold)
		msgs := waitMessages(t, chat, ctx, conv.ID, 5)
		if len(msgs) != 5 || bot.calls.Load() != 2 {
			t.Fatalf("%d messages, %d bot calls; want 5 and 2: %+v", len(msgs), bot.calls.Load(), msgs)
		}
		// Over the rate (burst 3 used up): one notice to slow down, then silence.
		for _, q := range []string{"d", "e", "f"} {
			chat.Send(ctx, text(conv.ID, "q-"+q, q))
		}
		msgs = waitMessages(t, chat, ctx, conv.ID, 9)
		time.Sleep(200 * time.Millisecond) // nothing more may come: give it the chance
		msgs, _ = chat.Messages(ctx, conv.ID, service.HistoryRequest{Limit: 100})
		var notices int
		for _, m := range msgs {
			if m.SenderID == robot.ID && strings.Contains(m.Content, "too fast") {
				notices++
			}
		}
		if len(msgs) != 9 || notices != 1 {
			t.Errorf("%d messages with %d slow-down notices; want 9 and 1", len(msgs), notices)
		}
	})
}
