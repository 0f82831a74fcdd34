package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

// social is a test bed: accounts and friends services on one database, with the
// events recorded.
type social struct {
	t        *testing.T
	db       *gorm.DB
	accounts *service.Accounts
	box      *servicetest.Mailbox
	friends  *service.Friends
	events   *servicetest.Recorder
}

func newSocial(t *testing.T, db *gorm.DB) *social {
	a, box := servicetest.Accounts(t, db)
	f := service.NewFriends(db, servicetest.Logger())
	rec := &servicetest.Recorder{}
	f.Notifier = rec
	return &social{t: t, db: db, accounts: a, box: box, friends: f, events: rec}
}

// user makes an active user and returns it with a context signed in as it.
func (s *social) user() (*model.User, context.Context) {
	u, res := servicetest.ActiveUser(s.t, s.accounts, s.box)
	return u, servicetest.As(context.Background(), s.t, s.accounts, res.Token)
}

func (s *social) friendRows(a, b uint64) int64 {
	return count(s.t, s.db, "friendships", "(user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)", a, b, b, a)
}

func (s *social) requestRows(from, to uint64) int64 {
	return count(s.t, s.db, "friend_requests", "from_user_id = ? AND to_user_id = ?", from, to)
}

func TestFriendRequestStateMachine(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		alice, asAlice := s.user()
		bob, asBob := s.user()
		carol, asCarol := s.user()

		// Alice asks Bob: a pending request, pushed to Bob (and Alice's other devices).
		req, created, err := s.friends.SendRequest(asAlice, bob.ID, "我是爱丽丝 👋")
		if err != nil || !created || req.Status != model.RequestPending || req.FromUser.ID != alice.ID ||
			req.ToUser.ID != bob.ID || req.Message != "我是爱丽丝 👋" {
			t.Fatalf("SendRequest = %+v, %v, %v", req, created, err)
		}
		ev := s.events.Events(model.EventFriendRequest)
		if len(ev) != 1 || !sameIDs(ev[0].To, bob.ID, alice.ID) {
			t.Fatalf("friend.request events = %+v", ev)
		}
		// Asking again while pending: no duplicate, no second push, message refreshed.
		again, created, err := s.friends.SendRequest(asAlice, bob.ID, "still me")
		if err != nil || created || again.ID != req.ID || again.Message != "still me" {
			t.Fatalf("second SendRequest = %+v, %v, %v", again, created, err)
		}
		if n := s.requestRows(alice.ID, bob.ID); n != 1 {
			t.Errorf("%d request rows, want 1", n)
		}
		if n := len(s.events.Events(model.EventFriendRequest)); n != 1 {
			t.Errorf("%d friend.request events, want 1", n)
		}
		// Listed in both boxes.
		in, _ := s.friends.Requests(asBob, "incoming", service.PageRequest{})
		out, _ := s.friends.Requests(asAlice, "outgoing", service.PageRequest{})
		if len(in.Items) != 1 || in.Items[0].ID != req.ID || len(out.Items) != 1 || out.Items[0].ID != req.ID {
			t.Fatalf("incoming %+v, outgoing %+v", in, out)
		}
		if other, _ := s.friends.Requests(asCarol, "incoming", service.PageRequest{}); len(other.Items) != 0 {
			t.Errorf("Carol sees %+v", other.Items)
		}
		// Only Bob may answer it.
		for name, ctx := range map[string]context.Context{"sender": asAlice, "stranger": asCarol} {
			if _, err := s.friends.Accept(ctx, req.ID); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("%s accepts: %v, want not_found", name, err)
			}
			if _, err := s.friends.Reject(ctx, req.ID); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("%s rejects: %v, want not_found", name, err)
			}
		}
		if s.friendRows(alice.ID, bob.ID) != 0 {
			t.Fatal("a refused answer made friends")
		}
		s.events.Reset()
		acc, err := s.friends.Accept(asBob, req.ID)
		if err != nil || acc.Status != model.RequestAccepted {
			t.Fatalf("Accept = %+v, %v", acc, err)
		}
		if s.friendRows(alice.ID, bob.ID) != 2 {
			t.Fatal("accept did not store both directions")
		}
		evs := s.events.Events(model.EventFriendAccepted)
		if len(evs) != 2 {
			t.Fatalf("friend.accepted events = %+v", evs)
		}
		for _, e := range evs {
			u := e.Event.Data.(model.FriendEvent).User
			if !(sameIDs(e.To, alice.ID) && u.ID == bob.ID) && !(sameIDs(e.To, bob.ID) && u.ID == alice.ID) {
				t.Errorf("friend.accepted to %v about %d", e.To, u.ID)
			}
		}
		if _, err := s.friends.Accept(asBob, req.ID); !errors.Is(err, model.ErrConflict) {
			t.Errorf("second accept: %v, want conflict", err)
		}
		if in, _ := s.friends.Requests(asBob, "incoming", service.PageRequest{}); len(in.Items) != 0 {
			t.Errorf("an accepted request is still pending: %+v", in.Items)
		}
		// Friends cannot ask again.
		if _, _, err := s.friends.SendRequest(asBob, alice.ID, ""); !errors.Is(err, model.ErrConflict) {
			t.Errorf("request to a friend: %v, want conflict", err)
		}

		// Carol asks Bob, Bob rejects; the sender is not told; Carol may ask again.
		s.events.Reset()
		creq, _, err := s.friends.SendRequest(asCarol, bob.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if rej, err := s.friends.Reject(asBob, creq.ID); err != nil || rej.Status != model.RequestRejected {
			t.Fatalf("Reject = %+v, %v", rej, err)
		}
		if n := len(s.events.Events(model.EventFriendRequest)); n != 1 {
			t.Errorf("%d friend.request events, want 1 (a rejection is silent)", n)
		}
		if _, err := s.friends.Accept(asBob, creq.ID); !errors.Is(err, model.ErrConflict) {
			t.Errorf("accepting a rejected request: %v", err)
		}
		renewed, created, err := s.friends.SendRequest(asCarol, bob.ID, "please?")
		if err != nil || !created || renewed.Status != model.RequestPending || renewed.ID != creq.ID {
			t.Fatalf("asking again after rejection = %+v, %v, %v", renewed, created, err)
		}
		if n := s.requestRows(carol.ID, bob.ID); n != 1 {
			t.Errorf("%d request rows for one pair, want 1", n)
		}
	})
}

func TestCrossingRequestsMakeFriends(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		a, asA := s.user()
		b, asB := s.user()
		if _, _, err := s.friends.SendRequest(asA, b.ID, "hi"); err != nil {
			t.Fatal(err)
		}
		s.events.Reset()
		back, created, err := s.friends.SendRequest(asB, a.ID, "hi back")
		if err != nil || !created || back.Status != model.RequestAccepted {
			t.Fatalf("asking back = %+v, %v, %v", back, created, err)
		}
		if s.friendRows(a.ID, b.ID) != 2 {
			t.Fatal("crossing requests did not make friends")
		}
		if n := count(t, db, "friend_requests", "((from_user_id = ? AND to_user_id = ?) OR (from_user_id = ? AND to_user_id = ?)) AND status = ?",
			a.ID, b.ID, b.ID, a.ID, model.RequestPending); n != 0 {
			t.Errorf("%d requests still pending", n)
		}
		if n := len(s.events.Events(model.EventFriendAccepted)); n != 2 {
			t.Errorf("%d friend.accepted events, want 2", n)
		}
		if n := len(s.events.Events(model.EventFriendRequest)); n != 0 {
			t.Errorf("%d friend.request events, want 0", n)
		}
	})
}

func TestBadFriendRequests(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		me, asMe := s.user()
		friend, _ := s.user()
		servicetest.Befriend(t, db, me.ID, friend.ID)
		name := servicetest.Unique("inact")
		inactive, err := s.accounts.Register(context.Background(), service.RegisterInput{Username: name,
			Email: name + "@example.com", Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		other, _ := s.user()
		tests := []struct {
			name    string
			to      uint64
			message string
			kind    error
		}{
			{"no target", 0, "", model.ErrInvalid},
			{"yourself", me.ID, "", model.ErrInvalid},
			{"unknown user", 1 << 60, "", model.ErrNotFound},
			{"inactive user", inactive.ID, "", model.ErrNotFound},
			{"a friend already", friend.ID, "", model.ErrConflict},
			{"message too long", other.ID, strings.Repeat("长", model.RequestMessageMaxLen+1), model.ErrInvalid},
			{"control character", other.ID, "hi\x1b[2J", model.ErrInvalid},
		}
		for _, tt := range tests {
			if _, _, err := s.friends.SendRequest(asMe, tt.to, tt.message); !errors.Is(err, tt.kind) {
				t.Errorf("%s: %v, want %v", tt.name, err, tt.kind)
			}
		}
		if n := count(t, db, "friend_requests", "from_user_id = ?", me.ID); n != 0 {
			t.Errorf("refused requests stored %d rows", n)
		}
		if n := len(s.events.Events("")); n != 0 {
			t.Errorf("refused requests published %d events", n)
		}
		for _, box := range []string{"sent", "INCOMING", "x"} {
			if _, err := s.friends.Requests(asMe, box, service.PageRequest{}); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("box %q: %v", box, err)
			}
		}
	})
}

func TestRemarksArePrivate(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		alice, asAlice := s.user()
		bob, asBob := s.user()
		carol, asCarol := s.user()
		servicetest.Befriend(t, db, alice.ID, bob.ID)

		remark := "老板 👔 Bob"
		f, err := s.friends.SetRemark(asAlice, bob.ID, "  "+remark+" ")
		if err != nil || f.Remark != remark || f.User.ID != bob.ID {
			t.Fatalf("SetRemark = %+v, %v", f, err)
		}
		// Alice sees it in her list and on Bob's profile and in search.
		list, _ := s.friends.List(asAlice, service.PageRequest{})
		if len(list.Items) != 1 || list.Items[0].Remark != remark || list.Items[0].Online {
			t.Errorf("Alice's list = %+v", list.Items)
		}
		p, err := s.accounts.User(asAlice, bob.ID)
		if err != nil || !p.IsFriend || p.Remark == nil || *p.Remark != remark {
			t.Errorf("Alice sees Bob as %+v, %v", p, err)
		}
		found, _ := s.accounts.SearchUsers(asAlice, bob.Username, service.PageRequest{})
		if len(found.Items) != 1 || found.Items[0].Remark == nil || *found.Items[0].Remark != remark {
			t.Errorf("Alice's search = %+v", found.Items)
		}
		// Nobody else does.
		list, _ = s.friends.List(asBob, service.PageRequest{})
		if len(list.Items) != 1 || list.Items[0].Remark != "" {
			t.Errorf("Bob's list = %+v", list.Items)
		}
		if p, _ := s.accounts.User(asBob, alice.ID); p.Remark == nil || *p.Remark != "" {
			t.Errorf("Bob sees Alice as %+v", p)
		}
		if p, _ := s.accounts.User(asCarol, bob.ID); p.IsFriend || p.Remark != nil {
			t.Errorf("Carol sees Bob as %+v", p)
		}
		// Only for friends; only valid text.
		if _, err := s.friends.SetRemark(asCarol, bob.ID, "x"); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("remark on a stranger: %v", err)
		}
		if _, err := s.friends.SetRemark(asAlice, carol.ID, "x"); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("remark on a non-friend: %v", err)
		}
		if _, err := s.friends.SetRemark(asAlice, bob.ID, strings.Repeat("x", model.RemarkMaxLen+1)); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("long remark: %v", err)
		}
		if n := count(t, db, "friendships", "remark <> ''"+" AND user_id IN ?", []uint64{bob.ID, carol.ID}); n != 0 {
			t.Errorf("%d remarks stored for Bob or Carol", n)
		}
		if f, _ := s.friends.SetRemark(asAlice, bob.ID, ""); f.Remark != "" {
			t.Errorf("clearing the remark left %q", f.Remark)
		}
	})
}

func TestRemoveFriend(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		a, asA := s.user()
		b, asB := s.user()
		c, asC := s.user()
		servicetest.Befriend(t, db, a.ID, b.ID)
		if err := s.friends.Remove(asC, a.ID); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("stranger removes: %v", err)
		}
		if s.friendRows(a.ID, b.ID) != 2 {
			t.Fatal("a refused removal removed")
		}
		if err := s.friends.Remove(asB, a.ID); err != nil {
			t.Fatal(err)
		}
		if s.friendRows(a.ID, b.ID) != 0 {
			t.Error("the friendship is not gone both ways")
		}
		evs := s.events.Events(model.EventFriendRemoved)
		if len(evs) != 2 {
			t.Fatalf("friend.removed events = %+v", evs)
		}
		for _, e := range evs {
			u := e.Event.Data.(model.FriendEvent).User
			if !(sameIDs(e.To, a.ID) && u.ID == b.ID) && !(sameIDs(e.To, b.ID) && u.ID == a.ID) {
				t.Errorf("friend.removed to %v about %d", e.To, u.ID)
			}
		}
		if err := s.friends.Remove(asA, b.ID); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("removing twice: %v", err)
		}
		// They can become friends again.
		if _, created, err := s.friends.SendRequest(asA, b.ID, ""); err != nil || !created {
			t.Fatalf("asking again after removal: %v", err)
		}
		_ = c
	})
}

func TestFriendListPaging(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		me, asMe := s.user()
		want := map[uint64]bool{}
		for range 5 {
			f, _ := s.user()
			servicetest.Befriend(t, db, me.ID, f.ID)
			want[f.ID] = true
		}
		seen := map[uint64]bool{}
		page := service.PageRequest{Limit: 2}
		for i := 0; ; i++ {
			p, err := s.friends.List(asMe, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range p.Items {
				if seen[f.User.ID] {
					t.Fatalf("friend %d listed twice", f.User.ID)
				}
				seen[f.User.ID] = true
			}
			if p.NextCursor == "" {
				break
			}
			if i > 5 {
				t.Fatal("paging does not end")
			}
			page.Cursor = p.NextCursor
		}
		if len(seen) != len(want) {
			t.Errorf("listed %d friends, want %d", len(seen), len(want))
		}
	})
}

func TestConcurrentCrossingRequests(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		for range 4 {
			a, asA := s.user()
			b, asB := s.user()
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, pair := range []struct {
				ctx context.Context
				to  uint64
			}{{asA, b.ID}, {asB, a.ID}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, errs[i] = s.friends.SendRequest(pair.ctx, pair.to, "")
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("concurrent SendRequest: %v", err)
				}
			}
			if n := s.friendRows(a.ID, b.ID); n != 2 {
				t.Fatalf("%d friendship rows after crossing requests, want 2", n)
			}
		}
	})
}

func TestConcurrentAcceptsOfCrossingRequests(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocial(t, db)
		a, asA := s.user()
		b, asB := s.user()
		// Two pending requests in both directions (stored directly: the service
		// would have accepted the second at once).
		ra := model.FriendRequest{FromUserID: a.ID, ToUserID: b.ID, Status: model.RequestPending}
		rb := model.FriendRequest{FromUserID: b.ID, ToUserID: a.ID, Status: model.RequestPending}
		if err := db.Create(&ra).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&rb).Error; err != nil {
			t.Fatal(err)
		}
		s.events.Reset()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); _, errs[0] = s.friends.Accept(asB, ra.ID) }()
		go func() { defer wg.Done(); _, errs[1] = s.friends.Accept(asA, rb.ID) }()
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.Is(err, model.ErrConflict) {
				t.Fatalf("concurrent Accept: %v", err)
			}
		}
		if n := s.friendRows(a.ID, b.ID); n != 2 {
			t.Fatalf("%d friendship rows, want 2", n)
		}
		if n := len(s.events.Events(model.EventFriendAccepted)); n != 2 {
			t.Errorf("%d friend.accepted events, want 2 (one per side, once)", n)
		}
	})
}

// sameIDs reports whether got holds exactly want, in any order.
func sameIDs(got []uint64, want ...uint64) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}
