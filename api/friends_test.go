package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"lechat/api"
	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

type friendsServer struct {
	*testServer
	events *servicetest.Recorder
}

func newFriendsServer(t *testing.T, db *gorm.DB) *friendsServer {
	t.Helper()
	f := service.NewFriends(db, servicetest.Logger())
	rec := &servicetest.Recorder{}
	f.Notifier = rec
	return &friendsServer{testServer: newTestServer(t, db, func(o *api.Options) { o.Friends = f }), events: rec}
}

type requestJSON struct {
	ID        uint64   `json:"id"`
	FromUser  userJSON `json:"from_user"`
	ToUser    userJSON `json:"to_user"`
	Message   string   `json:"message"`
	Status    string   `json:"status"`
	CreatedAt string   `json:"created_at"`
}

type friendJSON struct {
	User   userJSON `json:"user"`
	Remark string   `json:"remark"`
	Online bool     `json:"online"`
	Since  string   `json:"since"`
}

func (fs *friendsServer) friendRows(t *testing.T, a, b uint64) int64 {
	t.Helper()
	var n int64
	fs.DB.Table("friendships").Where("(user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)", a, b, b, a).Count(&n)
	return n
}

func TestFriendRoutes(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		fs := newFriendsServer(t, db)
		alice, aliceTok := fs.activeUser(t, "", "")
		bob, bobTok := fs.activeUser(t, "", "")
		_, carolTok := fs.activeUser(t, "", "")

		// Send: 201 with the request; again while pending: 200, same id.
		r := fs.doJSON(t, "POST", "/api/v1/friend-requests", aliceTok, map[string]any{"to_user_id": bob.ID, "message": "你好 👋 <b>hi</b>"})
		expectStatus(t, r, http.StatusCreated)
		var req requestJSON
		decodeStrict(t, r.Body, &req)
		if req.FromUser.ID != alice.ID || req.ToUser.ID != bob.ID || req.Status != "pending" || req.Message != "你好 👋 <b>hi</b>" ||
			req.FromUser.Email != "" {
			t.Fatalf("request %+v", req)
		}
		r = fs.doJSON(t, "POST", "/api/v1/friend-requests", aliceTok, map[string]any{"to_user_id": bob.ID})
		expectStatus(t, r, http.StatusOK)
		var again requestJSON
		decodeStrict(t, r.Body, &again)
		if again.ID != req.ID {
			t.Errorf("a second request made a new one: %d vs %d", again.ID, req.ID)
		}
		if ev := fs.events.Events(model.EventFriendRequest); len(ev) != 1 {
			t.Errorf("%d friend.request events, want 1", len(ev))
		}

		// Boxes.
		var page struct {
			Items      []requestJSON `json:"items"`
			NextCursor string        `json:"next_cursor"`
		}
		r = fs.doJSON(t, "GET", "/api/v1/friend-requests?box=incoming", bobTok, nil)
		expectStatus(t, r, http.StatusOK)
		decodeStrict(t, r.Body, &page)
		if len(page.Items) != 1 || page.Items[0].ID != req.ID {
			t.Errorf("Bob's incoming %+v", page.Items)
		}
		r = fs.doJSON(t, "GET", "/api/v1/friend-requests?box=outgoing", aliceTok, nil)
		decodeStrict(t, r.Body, &page)
		if len(page.Items) != 1 || page.Items[0].ID != req.ID {
			t.Errorf("Alice's outgoing %+v", page.Items)
		}

		// Only Bob answers; Carol and Alice get 404.
		path := "/api/v1/friend-requests/" + strconv.FormatUint(req.ID, 10)
		for _, tok := range []string{aliceTok, carolTok} {
			expectError(t, fs.doJSON(t, "POST", path+"/accept", tok, nil), http.StatusNotFound, "not_found", "")
		}
		r = fs.doJSON(t, "POST", path+"/accept", bobTok, nil)
		expectStatus(t, r, http.StatusOK)
		decodeStrict(t, r.Body, &req)
		if req.Status != "accepted" || fs.friendRows(t, alice.ID, bob.ID) != 2 {
			t.Fatalf("accepted %+v", req)
		}
		expectError(t, fs.doJSON(t, "POST", path+"/accept", bobTok, nil), http.StatusConflict, "conflict", "")

		// Friends list, remark, profile.
		r = fs.doJSON(t, "PATCH", "/api/v1/friends/"+strconv.FormatUint(bob.ID, 10), aliceTok, map[string]any{"remark": "老板 👔"})
		expectStatus(t, r, http.StatusOK)
		var f friendJSON
		decodeStrict(t, r.Body, &f)
		if f.Remark != "老板 👔" || f.User.ID != bob.ID {
			t.Errorf("remark answer %+v", f)
		}
		var friends struct {
			Items []friendJSON `json:"items"`
		}
		decodeStrict(t, fs.doJSON(t, "GET", "/api/v1/friends", aliceTok, nil).Body, &friends)
		if len(friends.Items) != 1 || friends.Items[0].Remark != "老板 👔" || friends.Items[0].Online {
			t.Errorf("Alice's friends %+v", friends.Items)
		}
		decodeStrict(t, fs.doJSON(t, "GET", "/api/v1/friends", bobTok, nil).Body, &friends)
		if len(friends.Items) != 1 || friends.Items[0].Remark != "" {
			t.Errorf("Bob sees Alice's remark: %+v", friends.Items)
		}
		var profile userJSON
		decodeStrict(t, fs.doJSON(t, "GET", "/api/v1/users/"+strconv.FormatUint(bob.ID, 10), aliceTok, nil).Body, &profile)
		if !profile.IsFriend || profile.Remark == nil || *profile.Remark != "老板 👔" {
			t.Errorf("Alice's view of Bob %+v", profile)
		}
		var carols userJSON
		decodeStrict(t, fs.doJSON(t, "GET", "/api/v1/users/"+strconv.FormatUint(bob.ID, 10), carolTok, nil).Body, &carols)
		if carols.IsFriend || carols.Remark != nil {
			t.Errorf("Carol's view of Bob %+v", carols)
		}

		// Delete: 204 both ways, then 404.
		r = fs.doJSON(t, "DELETE", "/api/v1/friends/"+strconv.FormatUint(alice.ID, 10), bobTok, nil)
		expectStatus(t, r, http.StatusNoContent)
		if fs.friendRows(t, alice.ID, bob.ID) != 0 {
			t.Error("the friendship survived DELETE")
		}
		expectError(t, fs.doJSON(t, "DELETE", "/api/v1/friends/"+strconv.FormatUint(alice.ID, 10), bobTok, nil),
			http.StatusNotFound, "not_found", "")
		if ev := fs.events.Events(model.EventFriendRemoved); len(ev) != 2 {
			t.Errorf("%d friend.removed events, want 2", len(ev))
		}
	})
}

func TestFriendRoutesBadInput(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		fs := newFriendsServer(t, db)
		me, tok := fs.activeUser(t, "", "")
		other, _ := fs.activeUser(t, "", "")
		friend, _ := fs.activeUser(t, "", "")
		servicetest.Befriend(t, db, me.ID, friend.ID)
		stranger := strconv.FormatUint(other.ID, 10)
		tests := []struct {
			name, method, path string
			body               any
			status             int
			code, field        string
		}{
			{"malformed JSON", "POST", "/api/v1/friend-requests", `{"to_user_id": `, 400, "invalid_request", ""},
			{"array body", "POST", "/api/v1/friend-requests", `[1]`, 400, "invalid_request", ""},
			{"id as string", "POST", "/api/v1/friend-requests", `{"to_user_id": "` + stranger + `"}`, 400, "invalid_request", "to_user_id"},
			{"negative id", "POST", "/api/v1/friend-requests", `{"to_user_id": -1}`, 400, "invalid_request", "to_user_id"},
			{"fractional id", "POST", "/api/v1/friend-requests", `{"to_user_id": 1.5}`, 400, "invalid_request", "to_user_id"},
			{"missing id", "POST", "/api/v1/friend-requests", `{}`, 400, "invalid_request", "to_user_id"},
			{"message as number", "POST", "/api/v1/friend-requests", `{"to_user_id": ` + stranger + `, "message": 5}`, 400, "invalid_request", "message"},
			{"message too long", "POST", "/api/v1/friend-requests", map[string]any{"to_user_id": other.ID, "message": strings.Repeat("长", 101)}, 400, "invalid_request", "message"},
			{"yourself", "POST", "/api/v1/friend-requests", map[string]any{"to_user_id": me.ID}, 400, "invalid_request", "to_user_id"},
			{"unknown user", "POST", "/api/v1/friend-requests", map[string]any{"to_user_id": 1 << 50}, 404, "not_found", ""},
			{"a friend", "POST", "/api/v1/friend-requests", map[string]any{"to_user_id": friend.ID}, 409, "conflict", "to_user_id"},
			{"2 MB body", "POST", "/api/v1/friend-requests", `{"message": "` + strings.Repeat("x", 2<<20) + `"}`, 413, "payload_too_large", ""},
			{"bad box", "GET", "/api/v1/friend-requests?box=all", nil, 400, "invalid_request", "box"},
			{"bad limit", "GET", "/api/v1/friend-requests?limit=1000", nil, 400, "invalid_request", "limit"},
			{"bad cursor", "GET", "/api/v1/friends?cursor=zzz", nil, 400, "invalid_request", "cursor"},
			{"accept non-numeric", "POST", "/api/v1/friend-requests/abc/accept", nil, 404, "not_found", ""},
			{"accept unknown", "POST", "/api/v1/friend-requests/999999999/accept", nil, 404, "not_found", ""},
			{"remark a stranger", "PATCH", "/api/v1/friends/" + stranger, map[string]any{"remark": "x"}, 404, "not_found", ""},
			{"remark missing", "PATCH", "/api/v1/friends/" + strconv.FormatUint(friend.ID, 10), `{}`, 400, "invalid_request", "remark"},
			{"remark too long", "PATCH", "/api/v1/friends/" + strconv.FormatUint(friend.ID, 10), map[string]any{"remark": strings.Repeat("x", 33)}, 400, "invalid_request", "remark"},
			{"remark with control", "PATCH", "/api/v1/friends/" + strconv.FormatUint(friend.ID, 10), map[string]any{"remark": "a\u202eb"}, 400, "invalid_request", "remark"},
			{"remark as array", "PATCH", "/api/v1/friends/" + strconv.FormatUint(friend.ID, 10), `{"remark": ["x"]}`, 400, "invalid_request", "remark"},
			{"delete a stranger", "DELETE", "/api/v1/friends/" + stranger, nil, 404, "not_found", ""},
			{"delete non-numeric", "DELETE", "/api/v1/friends/me", nil, 404, "not_found", ""},
		}
		count := func(table string) int64 {
			var n int64
			db.Table(table).Where("from_user_id = ? OR to_user_id = ?", me.ID, me.ID).Count(&n)
			return n
		}
		friendships := func() (n int64) {
			db.Table("friendships").Where("user_id = ? OR friend_id = ?", me.ID, me.ID).Count(&n)
			return n
		}
		remark := func() (r string) {
			db.Table("friendships").Where("user_id = ? AND friend_id = ?", me.ID, friend.ID).Pluck("remark", &r)
			return r
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				reqs, fr, rm := count("friend_requests"), friendships(), remark()
				expectError(t, fs.doJSON(t, tt.method, tt.path, tok, tt.body), tt.status, tt.code, tt.field)
				if count("friend_requests") != reqs || friendships() != fr || remark() != rm {
					t.Error("a refused request changed the database")
				}
			})
		}
		if n := len(fs.events.Events("")); n != 0 {
			t.Errorf("refused requests published %d events", n)
		}
		// No token at all: 401 on every friends route.
		for _, p := range []struct{ method, path string }{{"POST", "/api/v1/friend-requests"}, {"GET", "/api/v1/friend-requests"},
			{"POST", "/api/v1/friend-requests/1/accept"}, {"GET", "/api/v1/friends"}, {"PATCH", "/api/v1/friends/1"}, {"DELETE", "/api/v1/friends/1"}} {
			expectUnauthorized(t, fs.doJSON(t, p.method, p.path, "", nil))
		}
	})
}
