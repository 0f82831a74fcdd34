package ws_test

import (
	"net/http"
	"testing"

	"gorm.io/gorm"

	"lechat/service/servicetest"
)

// The robot is in everyone's conversation list and answers over the socket like
// any member: its reply is the next seq, pushed to every device of the user.
func TestRobotAnswersOverSocket(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice := h.newUser(t)
		a1 := h.dial(t, "a1", alice.Token)
		a2 := h.dial(t, "a2", h.login(t, alice))
		var conv uint64
		var list struct {
			Items []conversationView `json:"items"`
		}
		h.doJSON(t, "GET", "/api/v1/conversations", alice.Token, nil, http.StatusOK, &list)
		for _, v := range list.Items {
			if v.Peer != nil && v.Peer.ID == h.robot.ID {
				conv = v.ID
			}
		}
		if conv == 0 {
			t.Fatalf("no conversation with the robot in %+v", list.Items)
		}

		mine := a1.sendText(t, conv, "hello")
		if mine.Seq != 1 {
			t.Fatalf("first message to the robot has seq %d", mine.Seq)
		}
		for _, c := range []*client{a1, a2} {
			reply := messageOf(t, c.expect(t, "message.new", func(f frame) bool {
				return messageOf(t, f).SenderID == h.robot.ID
			}, waitFrame))
			if reply.Seq != 2 || reply.ConversationID != conv || reply.Kind != "text" || reply.text(t) == "" {
				t.Fatalf("%s: robot reply %+v", c.name, reply)
			}
		}
		if got := messageOf(t, a2.expect(t, "message.new", nil, waitFrame)); got.ID != mine.ID {
			t.Fatalf("a2 got %+v, want alice's own message", got)
		}
		if v := h.conversation(t, alice.Token, conv); v.Unread != 1 || v.LastSeq != 2 {
			t.Fatalf("robot conversation %+v, want the reply unread", v)
		}
	})
}
