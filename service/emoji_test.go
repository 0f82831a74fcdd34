package service_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

// Real sequences of every kind of emoji, with CJK (including a character outside
// the Basic Multilingual Plane, 𠮷), as they must come back byte for byte.
var roundTrip = []string{
	"👨‍👩‍👧‍👦", "👍🏽", "🇨🇳", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "1️⃣", "🐦‍🔥", "🫶🏻", "❤️",
	"𠮷野家 🍜", "乐聊 🎉 群", "한국어 😀", "🧑🏿‍🤝‍🧑🏻",
}

func TestEmojiRoundTripEverywhere(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		chat := service.NewChat(db, servicetest.Logger())
		groups := service.NewGroups(db, service.GroupsConfig{}, servicetest.Logger())
		alice, asAlice := s.user()
		bob, asBob := s.user()
		servicetest.Befriend(t, db, alice.ID, bob.ID)
		conv, err := chat.OpenPrivate(asAlice, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, seq := range roundTrip {
			nick := seq
			if _, err := s.accounts.UpdateProfile(asAlice, model.ProfilePatch{Nickname: &nick}); err != nil {
				t.Fatalf("nickname %q: %v", seq, err)
			}
			if me, _ := s.accounts.Me(asAlice); me.Nickname != seq {
				t.Errorf("nickname %q came back as %q", seq, me.Nickname)
			}
			if f, err := s.friends.SetRemark(asBob, alice.ID, seq); err != nil || f.Remark != seq {
				t.Errorf("remark %q: %+v, %v", seq, f, err)
			}
			if p, _ := s.accounts.User(asBob, alice.ID); p.Remark == nil || *p.Remark != seq {
				t.Errorf("remark %q read back as %v", seq, p.Remark)
			}
			g, err := groups.Create(asAlice, service.CreateGroupInput{Name: seq})
			if err != nil || g.Name != seq {
				t.Fatalf("group name %q: %+v, %v", seq, g, err)
			}
			if back, _ := groups.Get(asAlice, g.ID); back.Name != seq {
				t.Errorf("group name %q read back as %q", seq, back.Name)
			}
			content, _ := json.Marshal(seq + " ok")
			if _, _, err := chat.Send(asAlice, model.NewMessage{ConversationID: conv.ID,
				ClientMsgID: fmt.Sprintf("t-%d", i), Kind: model.KindText, Content: content}); err != nil {
				t.Fatalf("text %q: %v", seq, err)
			}
		}
		for i, e := range emojiOnly {
			content, _ := json.Marshal(e)
			if _, _, err := chat.Send(asAlice, model.NewMessage{ConversationID: conv.ID,
				ClientMsgID: fmt.Sprintf("e-%d", i), Kind: model.KindEmoji, Content: content}); err != nil {
				t.Fatalf("emoji %q: %v", e, err)
			}
		}
		msgs, err := chat.Messages(asBob, conv.ID, service.HistoryRequest{Limit: 100})
		if err != nil || len(msgs) != len(roundTrip)+len(emojiOnly) {
			t.Fatalf("history: %d messages, %v", len(msgs), err)
		}
		for i, seq := range roundTrip {
			if msgs[i].Content != seq+" ok" {
				t.Errorf("text %q came back as %q", seq+" ok", msgs[i].Content)
			}
		}
		for i, e := range emojiOnly {
			if m := msgs[len(roundTrip)+i]; m.Content != e || m.Kind != model.KindEmoji {
				t.Errorf("emoji %q came back as %q (%s)", e, m.Content, m.Kind)
			}
		}
	})
}

var emojiOnly = []string{"👨‍👩‍👧‍👦", "👍🏽", "🇨🇳", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "1️⃣", "sticker:party"}
