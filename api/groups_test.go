package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/api"
	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

// groupsServer is the test server with a groups service (member limit 5) whose
// events are recorded.
type groupsServer struct {
	*testServer
	events *servicetest.Recorder
}

func newGroupsServer(t *testing.T, db *gorm.DB) *groupsServer {
	t.Helper()
	g := service.NewGroups(db, service.GroupsConfig{MaxMembers: 5}, servicetest.Logger())
	rec := &servicetest.Recorder{}
	g.Notifier = rec
	ts := newTestServer(t, db, func(o *api.Options) { o.Groups = g })
	return &groupsServer{testServer: ts, events: rec}
}

// groupUser is a signed-in user of the groups tests.
type groupUser struct {
	userJSON
	token string
}

func (gs *groupsServer) user(t *testing.T) groupUser {
	t.Helper()
	u, token := gs.activeUser(t, "", "")
	return groupUser{u, token}
}

func (gs *groupsServer) befriend(t *testing.T, a groupUser, others ...groupUser) {
	t.Helper()
	for _, o := range others {
		servicetest.Befriend(t, gs.DB, a.ID, o.ID)
	}
}

// The shapes of the answers; decodeStrict refuses any field they do not name.
type groupJSON struct {
	ID             uint64    `json:"id"`
	Name           string    `json:"name"`
	Notice         string    `json:"notice"`
	AvatarURL      string    `json:"avatar_url"`
	OwnerID        uint64    `json:"owner_id"`
	JoinApproval   bool      `json:"join_approval"`
	MemberCount    int       `json:"member_count"`
	MaxMembers     int       `json:"max_members"`
	ConversationID *uint64   `json:"conversation_id"`
	CreatedAt      time.Time `json:"created_at"`
	MyRole         string    `json:"my_role"`
}

type groupEnvelope struct {
	Group groupJSON `json:"group"`
}

type groupPage struct {
	Items      []groupJSON `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

type publicUserJSON struct {
	ID        uint64 `json:"id"`
	Username  string `json:"username"`
	Nickname  string `json:"nickname"`
	AvatarURL string `json:"avatar_url"`
	Signature string `json:"signature"`
	Gender    string `json:"gender"`
	Location  string `json:"location"`
}

type memberJSON struct {
	User     publicUserJSON `json:"user"`
	Role     string         `json:"role"`
	JoinedAt time.Time      `json:"joined_at"`
}

type memberPage struct {
	Items      []memberJSON `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

type joinRequestJSON struct {
	ID        uint64         `json:"id"`
	GroupID   uint64         `json:"group_id"`
	User      publicUserJSON `json:"user"`
	Message   string         `json:"message"`
	Status    string         `json:"status"`
	CreatedAt time.Time      `json:"created_at"`
}

type joinRequestEnvelope struct {
	Request joinRequestJSON `json:"request"`
}

type joinRequestPage struct {
	Items      []joinRequestJSON `json:"items"`
	NextCursor string            `json:"next_cursor"`
}

// createGroup posts a group and returns it; it fails the test on any other answer.
func (gs *groupsServer) createGroup(t *testing.T, owner groupUser, body map[string]any) groupJSON {
	t.Helper()
	r := gs.doJSON(t, "POST", "/api/v1/groups", owner.token, body)
	expectStatus(t, r, http.StatusCreated)
	var out groupEnvelope
	decodeStrict(t, r.Body, &out)
	return out.Group
}

// groupState reads everything stored about group id, for before/after comparisons.
func groupState(t *testing.T, db *gorm.DB, id uint64) string {
	t.Helper()
	var g []map[string]any
	var members []model.GroupMember
	var reqs []model.GroupJoinRequest
	if err := db.Table("groups").Where("id = ?", id).Find(&g).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Where("group_id = ?", id).Order("user_id").Find(&members).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Where("group_id = ?", id).Order("id").Find(&reqs).Error; err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("group %v\nmembers %+v\nrequests %+v", g, members, reqs)
}

// groupsOf counts the groups owned by userID.
func groupsOf(t *testing.T, db *gorm.DB, userID uint64) int64 {
	t.Helper()
	var n int64
	if err := db.Table("groups").Where("owner_id = ?", userID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// apiError checks that r is an error answer with status and code in the error
// envelope, and returns its field ("" when none).
func apiError(t *testing.T, r *response, status int, code string) string {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	var e errorEnvelope
	decodeStrict(t, r.Body, &e)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("error %s, want code %q with a message", r.Body, code)
	}
	if e.Error.Field == nil {
		return ""
	}
	return *e.Error.Field
}

func TestGroupRoutes(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		gs := newGroupsServer(t, db)
		owner, friend, friend2, joiner, asker, asker2 := gs.user(t), gs.user(t), gs.user(t), gs.user(t), gs.user(t), gs.user(t)
		gs.befriend(t, owner, friend, friend2)

		// POST /groups → 201 {group}
		name := servicetest.Unique("乐聊 🎉 👨‍👩‍👧 群")
		r := gs.doJSON(t, "POST", "/api/v1/groups", owner.token, map[string]any{"name": name,
			"notice": "第一行\n第二行", "avatar_url": "/uploads/g.png", "member_ids": []uint64{friend.ID}})
		expectStatus(t, r, http.StatusCreated)
		if strings.Contains(string(r.Body), `"conversation_id":null`) {
			t.Errorf("a member sees no conversation_id: %s", r.Body)
		}
		var created groupEnvelope
		decodeStrict(t, r.Body, &created)
		g := created.Group
		if g.ID == 0 || g.Name != name || g.Notice != "第一行\n第二行" || g.AvatarURL != "/uploads/g.png" || g.OwnerID != owner.ID ||
			g.JoinApproval || g.MemberCount != 2 || g.MaxMembers != 5 || g.MyRole != "owner" || g.CreatedAt.Location() != time.UTC {
			t.Errorf("created %+v", g)
		}
		base := fmt.Sprintf("/api/v1/groups/%d", g.ID)

		// GET /groups → my groups; GET /groups?q= → search.
		r = gs.doJSON(t, "GET", "/api/v1/groups", friend.token, nil)
		expectStatus(t, r, http.StatusOK)
		var mine groupPage
		decodeStrict(t, r.Body, &mine)
		if len(mine.Items) != 1 || mine.Items[0].ID != g.ID || mine.Items[0].MyRole != "member" || mine.NextCursor != "" {
			t.Errorf("GET /groups = %s", r.Body)
		}
		r = gs.doJSON(t, "GET", "/api/v1/groups?q="+url.QueryEscape(name), joiner.token, nil)
		expectStatus(t, r, http.StatusOK)
		var found groupPage
		decodeStrict(t, r.Body, &found)
		if len(found.Items) != 1 || found.Items[0].ID != g.ID || found.Items[0].MyRole != "" || found.Items[0].Notice != "" {
			t.Errorf("GET /groups?q= = %s", r.Body)
		}
		r = gs.doJSON(t, "GET", "/api/v1/groups", joiner.token, nil)
		expectStatus(t, r, http.StatusOK)
		if string(r.Body) != `{"items":[]}` {
			t.Errorf("no groups: %s", r.Body)
		}

		// GET /groups/:id
		r = gs.doJSON(t, "GET", base, friend.token, nil)
		expectStatus(t, r, http.StatusOK)
		var got groupEnvelope
		decodeStrict(t, r.Body, &got)
		if got.Group.ID != g.ID || got.Group.Notice != g.Notice || got.Group.MyRole != "member" {
			t.Errorf("GET %s = %s", base, r.Body)
		}

		// PATCH /groups/:id
		r = gs.doJSON(t, "PATCH", base, owner.token, map[string]any{"notice": "新公告", "name": "改名 ✨"})
		expectStatus(t, r, http.StatusOK)
		decodeStrict(t, r.Body, &got)
		if got.Group.Notice != "新公告" || got.Group.Name != "改名 ✨" || got.Group.MyRole != "owner" {
			t.Errorf("PATCH = %s", r.Body)
		}

		// POST /groups/:id/join without a body → 200 {group}
		r = gs.doJSON(t, "POST", base+"/join", joiner.token, nil)
		expectStatus(t, r, http.StatusOK)
		decodeStrict(t, r.Body, &got)
		if got.Group.MyRole != "member" || got.Group.MemberCount != 3 {
			t.Errorf("join = %s", r.Body)
		}

		// GET /groups/:id/members
		r = gs.doJSON(t, "GET", base+"/members?limit=2", joiner.token, nil)
		expectStatus(t, r, http.StatusOK)
		var members memberPage
		decodeStrict(t, r.Body, &members)
		if len(members.Items) != 2 || members.NextCursor == "" || members.Items[0].User.ID != owner.ID ||
			members.Items[0].Role != "owner" || members.Items[0].JoinedAt.IsZero() {
			t.Errorf("members = %s", r.Body)
		}
		r = gs.doJSON(t, "GET", base+"/members?limit=2&cursor="+members.NextCursor, joiner.token, nil)
		expectStatus(t, r, http.StatusOK)
		var members2 memberPage
		decodeStrict(t, r.Body, &members2)
		if len(members2.Items) != 1 || members2.NextCursor != "" || members2.Items[0].User.ID != joiner.ID {
			t.Errorf("members page 2 = %s", r.Body)
		}

		// POST /groups/:id/members → 200 {items: added}
		r = gs.doJSON(t, "POST", base+"/members", owner.token, map[string]any{"user_ids": []uint64{friend2.ID, friend.ID}})
		expectStatus(t, r, http.StatusOK)
		var added struct {
			Items []memberJSON `json:"items"`
		}
		decodeStrict(t, r.Body, &added)
		if len(added.Items) != 1 || added.Items[0].User.ID != friend2.ID || added.Items[0].Role != "member" {
			t.Errorf("invite = %s", r.Body)
		}

		// PATCH /groups/:id/members/:user_id → 200 member
		r = gs.doJSON(t, "PATCH", fmt.Sprintf("%s/members/%d", base, friend.ID), owner.token, map[string]string{"role": "admin"})
		expectStatus(t, r, http.StatusOK)
		var m memberJSON
		decodeStrict(t, r.Body, &m)
		if m.User.ID != friend.ID || m.Role != "admin" {
			t.Errorf("set role = %s", r.Body)
		}

		// With approval: POST join → 202 {request}; the admin lists, accepts, rejects.
		r = gs.doJSON(t, "PATCH", base, friend.token, map[string]any{"join_approval": true})
		expectStatus(t, r, http.StatusOK)
		// An admin removes a plain member.
		expectStatus(t, gs.doJSON(t, "DELETE", fmt.Sprintf("%s/members/%d", base, friend2.ID), friend.token, nil), http.StatusNoContent)
		var reqs []joinRequestJSON
		for _, a := range []groupUser{asker, asker2} {
			r = gs.doJSON(t, "POST", base+"/join", a.token, map[string]string{"message": "你好 👋"})
			expectStatus(t, r, http.StatusAccepted)
			var req joinRequestEnvelope
			decodeStrict(t, r.Body, &req)
			if req.Request.ID == 0 || req.Request.GroupID != g.ID || req.Request.User.ID != a.ID ||
				req.Request.Status != "pending" || req.Request.Message != "你好 👋" {
				t.Errorf("join request = %s", r.Body)
			}
			reqs = append(reqs, req.Request)
		}
		r = gs.doJSON(t, "GET", base+"/join-requests", friend.token, nil)
		expectStatus(t, r, http.StatusOK)
		var list joinRequestPage
		decodeStrict(t, r.Body, &list)
		if len(list.Items) != 2 || list.Items[0].ID != reqs[0].ID {
			t.Errorf("join requests = %s", r.Body)
		}
		for i, verb := range []string{"accept", "reject"} {
			r = gs.doJSON(t, "POST", fmt.Sprintf("%s/join-requests/%d/%s", base, reqs[i].ID, verb), friend.token, nil)
			expectStatus(t, r, http.StatusOK)
			var req joinRequestEnvelope
			decodeStrict(t, r.Body, &req)
			if want := map[string]string{"accept": "accepted", "reject": "rejected"}[verb]; req.Request.Status != want || req.Request.ID != reqs[i].ID {
				t.Errorf("%s = %s", verb, r.Body)
			}
		}

		// DELETE /groups/:id/members/:user_id, POST leave → 204
		expectStatus(t, gs.doJSON(t, "DELETE", fmt.Sprintf("%s/members/%d", base, asker.ID), owner.token, nil), http.StatusNoContent)
		expectStatus(t, gs.doJSON(t, "POST", base+"/leave", joiner.token, nil), http.StatusNoContent)

		// POST transfer → 200 {group}, as the old owner now sees it.
		r = gs.doJSON(t, "POST", base+"/transfer", owner.token, map[string]uint64{"user_id": friend.ID})
		expectStatus(t, r, http.StatusOK)
		decodeStrict(t, r.Body, &got)
		if got.Group.OwnerID != friend.ID || got.Group.MyRole != "admin" || got.Group.MemberCount != 2 {
			t.Errorf("transfer = %s", r.Body)
		}

		// DELETE /groups/:id → 204; then it is gone.
		gs.events.Reset()
		expectStatus(t, gs.doJSON(t, "DELETE", base, friend.token, nil), http.StatusNoContent)
		apiError(t, gs.doJSON(t, "GET", base, owner.token, nil), http.StatusNotFound, "not_found")
		if evs := gs.events.Events(model.EventGroupDisbanded); len(evs) != 1 || len(evs[0].To) != 2 {
			t.Errorf("disbanded events %+v", evs)
		}
	})
}

// Every group route refuses whoever has no right to it, and changes nothing.
func TestGroupRoutesRefuseOutsiders(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		gs := newGroupsServer(t, db)
		owner, member, outsider, asker, outsidersFriend := gs.user(t), gs.user(t), gs.user(t), gs.user(t), gs.user(t)
		gs.befriend(t, owner, member)
		gs.befriend(t, outsider, outsidersFriend)
		gs.befriend(t, member, outsidersFriend)
		g := gs.createGroup(t, owner, map[string]any{"name": "私密群", "notice": "members only",
			"member_ids": []uint64{member.ID}, "join_approval": true})
		r := gs.doJSON(t, "POST", fmt.Sprintf("/api/v1/groups/%d/join", g.ID), asker.token, map[string]string{})
		expectStatus(t, r, http.StatusAccepted)
		var req joinRequestEnvelope
		decodeStrict(t, r.Body, &req)
		gs.events.Reset()

		type route struct {
			method, path string
			body         any
			outsider     int // status for the outsider
			member       int // status for a plain member
		}
		routes := func(gid uint64) []route {
			base := fmt.Sprintf("/api/v1/groups/%d", gid)
			return []route{
				{"GET", base, nil, 200, 200},
				{"PATCH", base, map[string]string{"name": "taken over"}, 403, 403},
				{"DELETE", base, nil, 403, 403},
				{"POST", base + "/leave", nil, 403, 0},
				{"POST", base + "/transfer", map[string]uint64{"user_id": member.ID}, 403, 403},
				{"GET", base + "/members", nil, 403, 200},
				{"POST", base + "/members", map[string][]uint64{"user_ids": {outsidersFriend.ID}}, 403, 0},
				{"PATCH", fmt.Sprintf("%s/members/%d", base, member.ID), map[string]string{"role": "admin"}, 403, 403},
				{"DELETE", fmt.Sprintf("%s/members/%d", base, owner.ID), nil, 403, 403},
				{"GET", base + "/join-requests", nil, 403, 403},
				{"POST", fmt.Sprintf("%s/join-requests/%d/accept", base, req.Request.ID), nil, 403, 403},
				{"POST", fmt.Sprintf("%s/join-requests/%d/reject", base, req.Request.ID), nil, 403, 403},
				{"POST", base + "/join", nil, 0, 409},
			}
		}
		before := groupState(t, db, g.ID)
		for _, rt := range routes(g.ID) {
			for _, who := range []struct {
				name   string
				u      groupUser
				status int
			}{{"outsider", outsider, rt.outsider}, {"member", member, rt.member}} {
				if who.status == 0 { // allowed, and tested elsewhere
					continue
				}
				r := gs.doJSON(t, rt.method, rt.path, who.u.token, rt.body)
				switch who.status {
				case 200:
					expectStatus(t, r, 200)
				case 403:
					apiError(t, r, 403, "forbidden")
				case 409:
					apiError(t, r, 409, "conflict")
				}
			}
			// Without a token: 401; with no such group: 404, whoever asks.
			expectUnauthorized(t, gs.doJSON(t, rt.method, rt.path, "", rt.body))
		}
		if after := groupState(t, db, g.ID); after != before {
			t.Errorf("refused requests changed the group:\n%s\n%s", before, after)
		}
		if evs := gs.events.Events(""); len(evs) != 0 {
			t.Errorf("refused requests published %+v", evs)
		}
		// The outsider sees the public fields only.
		r = gs.doJSON(t, "GET", fmt.Sprintf("/api/v1/groups/%d", g.ID), outsider.token, nil)
		var seen groupEnvelope
		decodeStrict(t, r.Body, &seen)
		if seen.Group.Notice != "" || seen.Group.MyRole != "" || seen.Group.Name != "私密群" {
			t.Errorf("outsider sees %s", r.Body)
		}

		for _, rt := range routes(1 << 40) {
			for _, u := range []groupUser{outsider, owner} {
				apiError(t, gs.doJSON(t, rt.method, rt.path, u.token, rt.body), 404, "not_found")
			}
		}
		if after := groupState(t, db, g.ID); after != before {
			t.Errorf("requests about no group changed the group:\n%s\n%s", before, after)
		}
	})
}

func TestGroupBadInput(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		gs := newGroupsServer(t, db)
		owner, friend, stranger := gs.user(t), gs.user(t), gs.user(t)
		gs.befriend(t, owner, friend)
		g := gs.createGroup(t, owner, map[string]any{"name": "好群"})
		base := fmt.Sprintf("/api/v1/groups/%d", g.ID)

		many := make([]uint64, model.GroupInviteMax+1)
		for i := range many {
			many[i] = friend.ID
		}
		huge := `{"user_ids": [` + strings.Repeat("1,", 1<<20) + `1]}`
		tests := []struct {
			name, method, path string
			body               any
			status             int
			code, field        string // field "-": any
		}{
			{"create: malformed JSON", "POST", "/api/v1/groups", `{"name": "x"`, 400, "invalid_request", ""},
			{"create: empty body", "POST", "/api/v1/groups", "", 400, "invalid_request", ""},
			{"create: an array", "POST", "/api/v1/groups", `[]`, 400, "invalid_request", ""},
			{"create: trailing data", "POST", "/api/v1/groups", `{"name": "x"} {}`, 400, "invalid_request", ""},
			{"create: name a number", "POST", "/api/v1/groups", `{"name": 5}`, 400, "invalid_request", "name"},
			{"create: member_ids a string", "POST", "/api/v1/groups", `{"name": "x", "member_ids": "1"}`, 400, "invalid_request", "member_ids"},
			{"create: negative member id", "POST", "/api/v1/groups", `{"name": "x", "member_ids": [-1]}`, 400, "invalid_request", "-"},
			{"create: join_approval a string", "POST", "/api/v1/groups", `{"name": "x", "join_approval": "yes"}`, 400, "invalid_request", "join_approval"},
			{"create: empty name", "POST", "/api/v1/groups", map[string]any{"name": ""}, 400, "invalid_request", "name"},
			{"create: no name", "POST", "/api/v1/groups", map[string]any{"notice": "x"}, 400, "invalid_request", "name"},
			{"create: name too long", "POST", "/api/v1/groups", map[string]any{"name": strings.Repeat("群", 33)}, 400, "invalid_request", "name"},
			{"create: notice too long", "POST", "/api/v1/groups", map[string]any{"name": "x", "notice": strings.Repeat("a", 501)}, 400, "invalid_request", "notice"},
			{"create: bad avatar", "POST", "/api/v1/groups", map[string]any{"name": "x", "avatar_url": "data:image/png;base64,AAAA"}, 400, "invalid_request", "avatar_url"},
			{"create: a stranger", "POST", "/api/v1/groups", map[string]any{"name": "x", "member_ids": []uint64{friend.ID, stranger.ID}}, 403, "forbidden", "member_ids"},
			{"create: an unknown user", "POST", "/api/v1/groups", map[string]any{"name": "x", "member_ids": []uint64{1 << 40}}, 404, "not_found", "member_ids"},
			{"create: too many ids", "POST", "/api/v1/groups", map[string]any{"name": "x", "member_ids": many}, 400, "invalid_request", "member_ids"},
			{"create: huge body", "POST", "/api/v1/groups", huge, 413, "payload_too_large", ""},

			{"update: malformed", "PATCH", base, `{"name":`, 400, "invalid_request", ""},
			{"update: empty name", "PATCH", base, map[string]any{"name": " "}, 400, "invalid_request", "name"},
			{"update: name too long", "PATCH", base, map[string]any{"name": strings.Repeat("x", 33)}, 400, "invalid_request", "name"},
			{"update: control character", "PATCH", base, map[string]any{"notice": "a\u0007b"}, 400, "invalid_request", "notice"},
			{"update: join_approval a number", "PATCH", base, `{"join_approval": 1}`, 400, "invalid_request", "join_approval"},

			{"invite: malformed", "POST", base + "/members", `{"user_ids": [1,}`, 400, "invalid_request", ""},
			{"invite: no ids", "POST", base + "/members", map[string]any{"user_ids": []uint64{}}, 400, "invalid_request", "user_ids"},
			{"invite: ids not numbers", "POST", base + "/members", `{"user_ids": ["a"]}`, 400, "invalid_request", "-"},
			{"invite: a stranger", "POST", base + "/members", map[string]any{"user_ids": []uint64{friend.ID, stranger.ID}}, 403, "forbidden", "user_ids"},
			{"invite: an unknown user", "POST", base + "/members", map[string]any{"user_ids": []uint64{friend.ID, 1 << 40}}, 404, "not_found", "user_ids"},
			{"invite: too many ids", "POST", base + "/members", map[string]any{"user_ids": many}, 400, "invalid_request", "user_ids"},
			{"invite: huge body", "POST", base + "/members", huge, 413, "payload_too_large", ""},

			{"role: owner", "PATCH", fmt.Sprintf("%s/members/%d", base, owner.ID), map[string]string{"role": "owner"}, 400, "invalid_request", "role"},
			{"role: missing", "PATCH", fmt.Sprintf("%s/members/%d", base, owner.ID), map[string]string{}, 400, "invalid_request", "role"},
			{"transfer: no user", "POST", base + "/transfer", map[string]string{}, 400, "invalid_request", "user_id"},
			{"transfer: user_id a string", "POST", base + "/transfer", `{"user_id": "7"}`, 400, "invalid_request", "user_id"},
			{"transfer: to a stranger", "POST", base + "/transfer", map[string]uint64{"user_id": stranger.ID}, 404, "not_found", ""},
			{"join: message a number", "POST", base + "/join", `{"message": 5}`, 400, "invalid_request", "message"},
			{"join: malformed", "POST", base + "/join", `{"message"`, 400, "invalid_request", ""},
			{"remove: yourself", "DELETE", fmt.Sprintf("%s/members/%d", base, owner.ID), nil, 400, "invalid_request", ""},
			{"leave: the owner", "POST", base + "/leave", nil, 403, "forbidden", ""},

			{"id not a number", "GET", "/api/v1/groups/abc", nil, 404, "not_found", ""},
			{"id zero", "GET", "/api/v1/groups/0", nil, 404, "not_found", ""},
			{"id negative", "PATCH", "/api/v1/groups/-1", map[string]string{"name": "x"}, 404, "not_found", ""},
			{"id too big", "DELETE", "/api/v1/groups/99999999999999999999999", nil, 404, "not_found", ""},
			{"user id not a number", "DELETE", base + "/members/abc", nil, 404, "not_found", ""},
			{"role of user id not a number", "PATCH", base + "/members/1.5", map[string]string{"role": "admin"}, 404, "not_found", ""},
			{"request id not a number", "POST", base + "/join-requests/x/accept", nil, 404, "not_found", ""},
			{"unknown request", "POST", base + "/join-requests/12345678901/reject", nil, 404, "not_found", ""},

			{"list: limit not a number", "GET", "/api/v1/groups?limit=ten", nil, 400, "invalid_request", "limit"},
			{"list: limit too big", "GET", "/api/v1/groups?limit=101", nil, 400, "invalid_request", "limit"},
			{"list: bad cursor", "GET", "/api/v1/groups?cursor=zz", nil, 400, "invalid_request", "cursor"},
			{"search: empty q", "GET", "/api/v1/groups?q=", nil, 400, "invalid_request", "q"},
			{"search: q too long", "GET", "/api/v1/groups?q=" + strings.Repeat("x", 65), nil, 400, "invalid_request", "q"},
			{"members: bad limit", "GET", base + "/members?limit=0.5", nil, 400, "invalid_request", "limit"},
			{"join requests: bad cursor", "GET", base + "/join-requests?cursor=-3", nil, 400, "invalid_request", "cursor"},
		}
		groupsBefore := groupsOf(t, db, owner.ID)
		before := groupState(t, db, g.ID)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := gs.doJSON(t, tt.method, tt.path, owner.token, tt.body)
				field := apiError(t, r, tt.status, tt.code)
				if tt.field != "-" && field != tt.field {
					t.Errorf("field %q, want %q; body %s", field, tt.field, r.Body)
				}
			})
		}
		if n := groupsOf(t, db, owner.ID); n != groupsBefore {
			t.Errorf("%d groups, want %d", n, groupsBefore)
		}
		if after := groupState(t, db, g.ID); after != before {
			t.Errorf("bad requests changed the group:\n%s\n%s", before, after)
		}
		var n int64
		db.Table("group_members").Where("user_id IN ?", []uint64{friend.ID, stranger.ID}).Count(&n)
		if n != 0 {
			t.Errorf("%d member rows of the friend and the stranger", n)
		}
	})
}

// The join body is optional: none, blank, {} and {"message"} all work.
func TestJoinBodyIsOptional(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		gs := newGroupsServer(t, db)
		owner := gs.user(t)
		g := gs.createGroup(t, owner, map[string]any{"name": "开放群"})
		for _, body := range []any{nil, "  \n", map[string]any{}, map[string]string{"message": "嗨"}} {
			u := gs.user(t)
			r := gs.doJSON(t, "POST", fmt.Sprintf("/api/v1/groups/%d/join", g.ID), u.token, body)
			expectStatus(t, r, http.StatusOK)
			var out groupEnvelope
			decodeStrict(t, r.Body, &out)
			if out.Group.MyRole != "member" {
				t.Errorf("join with %#v: %s", body, r.Body)
			}
		}
		// The limit is 5: the sixth is refused.
		r := gs.doJSON(t, "POST", fmt.Sprintf("/api/v1/groups/%d/join", g.ID), gs.user(t).token, nil)
		apiError(t, r, http.StatusConflict, "conflict")
		var raw map[string]json.RawMessage
		r = gs.doJSON(t, "GET", fmt.Sprintf("/api/v1/groups/%d", g.ID), owner.token, nil)
		decodeStrict(t, r.Body, &raw)
		var got groupJSON
		decodeStrict(t, raw["group"], &got)
		if got.MemberCount != 5 {
			t.Errorf("member_count %d", got.MemberCount)
		}
	})
}
