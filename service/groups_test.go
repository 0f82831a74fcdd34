package service_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

// groupBed is a test bed for groups: accounts and groups services on one
// database, with the events recorded.
type groupBed struct {
	t      *testing.T
	db     *gorm.DB
	acc    *service.Accounts
	box    *servicetest.Mailbox
	groups *service.Groups
	events *servicetest.Recorder
}

// newGroupBed returns a test bed whose new groups have at most max members (0: the
// default).
func newGroupBed(t *testing.T, db *gorm.DB, max int) *groupBed {
	t.Helper()
	a, box := servicetest.Accounts(t, db)
	g := service.NewGroups(db, service.GroupsConfig{MaxMembers: max}, servicetest.Logger())
	rec := &servicetest.Recorder{}
	g.Notifier = rec
	return &groupBed{t: t, db: db, acc: a, box: box, groups: g, events: rec}
}

// actor is a user with a context signed in as it.
type actor struct {
	*model.User
	ctx context.Context
}

func (b *groupBed) user() actor {
	b.t.Helper()
	u, res := servicetest.ActiveUser(b.t, b.acc, b.box)
	return actor{u, servicetest.As(context.Background(), b.t, b.acc, res.Token)}
}

// befriend makes a friends with each of others.
func (b *groupBed) befriend(a actor, others ...actor) {
	b.t.Helper()
	for _, o := range others {
		servicetest.Befriend(b.t, b.db, a.ID, o.ID)
	}
}

// create makes a group owned by owner with members (who must be owner's friends).
func (b *groupBed) create(owner actor, approval bool, members ...actor) *model.GroupView {
	b.t.Helper()
	ids := make([]uint64, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	g, err := b.groups.Create(owner.ctx, service.CreateGroupInput{Name: servicetest.Unique("群"),
		Notice: "第一行\n第二行", MemberIDs: ids, JoinApproval: &approval})
	if err != nil {
		b.t.Fatalf("create group: %v", err)
	}
	return g
}

// roles returns user id -> role of every member row of group id.
func (b *groupBed) roles(id uint64) map[uint64]string {
	b.t.Helper()
	var rows []model.GroupMember
	if err := b.db.Where("group_id = ?", id).Find(&rows).Error; err != nil {
		b.t.Fatal(err)
	}
	out := map[uint64]string{}
	for _, r := range rows {
		out[r.UserID] = r.Role
	}
	return out
}

// state describes everything stored about group id: its row, its member rows and
// its join requests. Two equal states mean nothing changed.
func (b *groupBed) state(id uint64) string {
	b.t.Helper()
	var g []map[string]any
	var members []model.GroupMember
	var reqs []model.GroupJoinRequest
	if err := b.db.Table("groups").Where("id = ?", id).Find(&g).Error; err != nil {
		b.t.Fatal(err)
	}
	if err := b.db.Where("group_id = ?", id).Order("user_id").Find(&members).Error; err != nil {
		b.t.Fatal(err)
	}
	if err := b.db.Where("group_id = ?", id).Order("id").Find(&reqs).Error; err != nil {
		b.t.Fatal(err)
	}
	return fmt.Sprintf("group %v\nmembers %+v\nrequests %+v", g, members, reqs)
}

// consistent checks the invariants of group id: member_count equals the member
// rows, at most max_members, and exactly one owner row, the owner_id's.
func (b *groupBed) consistent(id uint64) {
	b.t.Helper()
	var g model.Group
	if err := b.db.Where("id = ?", id).Take(&g).Error; err != nil {
		b.t.Fatalf("group %d: %v", id, err)
	}
	roles := b.roles(id)
	if g.MemberCount != len(roles) || g.MemberCount > g.MaxMembers {
		b.t.Errorf("group %d: member_count %d, %d member rows, limit %d", id, g.MemberCount, len(roles), g.MaxMembers)
	}
	var owners []uint64
	for uid, r := range roles {
		if r == model.RoleOwner {
			owners = append(owners, uid)
		}
	}
	if len(owners) != 1 || owners[0] != g.OwnerID {
		b.t.Errorf("group %d: owner rows %v, owner_id %d", id, owners, g.OwnerID)
	}
	// The group's conversation has exactly the group's members.
	if g.ConversationID == nil {
		b.t.Fatalf("group %d has no conversation", id)
	}
	var convMembers []uint64
	if err := b.db.Model(&model.ConversationMember{}).Where("conversation_id = ?", *g.ConversationID).
		Order("user_id").Pluck("user_id", &convMembers).Error; err != nil {
		b.t.Fatal(err)
	}
	if len(convMembers) != len(roles) {
		b.t.Errorf("group %d: %d members, conversation %d has %v", id, len(roles), *g.ConversationID, convMembers)
	}
	for _, uid := range convMembers {
		if _, ok := roles[uid]; !ok {
			b.t.Errorf("group %d: user %d is in the conversation but not the group", id, uid)
		}
	}
}

// expectEvent checks that exactly one event of type typ was published since the
// last reset, to exactly the users to, and returns its data.
func (b *groupBed) expectEvent(typ string, to ...actor) any {
	b.t.Helper()
	evs := b.events.Events(typ)
	if len(evs) != 1 {
		b.t.Fatalf("%d %s events, want 1: %+v", len(evs), typ, evs)
	}
	want := ids(to...)
	got := slices.Sorted(slices.Values(evs[0].To))
	if !slices.Equal(got, want) {
		b.t.Errorf("%s went to %v, want %v", typ, got, want)
	}
	return evs[0].Event.Data
}

func ids(as ...actor) []uint64 {
	out := make([]uint64, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	slices.Sort(out)
	return out
}

// isKind reports whether err is of kind want (nil: no error).
func isKind(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func kindName(err error) string {
	if err == nil {
		return "ok"
	}
	return model.Code(err)
}

func TestGroupNameAndNoticeRules(t *testing.T) {
	names := []struct {
		in, want string
		err      error
	}{
		{"乐聊 🎉 👨‍👩‍👧 群", "乐聊 🎉 👨‍👩‍👧 群", nil},
		{"  Go 语言  ", "Go 语言", nil},
		{strings.Repeat("群", model.GroupNameMaxLen), strings.Repeat("群", model.GroupNameMaxLen), nil},
		{strings.Repeat("群", model.GroupNameMaxLen+1), "", model.ErrInvalid},
		{"", "", model.ErrInvalid},
		{"   ", "", model.ErrInvalid},
		{"two\nlines", "", model.ErrInvalid},
		{"bell\a", "", model.ErrInvalid},
		{"rtl\u202Eoverride", "", model.ErrInvalid},
		{"bad \xff utf8", "", model.ErrInvalid},
	}
	for _, tt := range names {
		got, err := model.CleanGroupName(tt.in)
		if !isKind(err, tt.err) || got != tt.want {
			t.Errorf("CleanGroupName(%q) = %q, %v; want %q, kind %v", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && model.Field(err) != "name" {
			t.Errorf("CleanGroupName(%q): field %q, want name", tt.in, model.Field(err))
		}
	}
	notices := []struct {
		in, want string
		err      error
	}{
		{"", "", nil},
		{"第一行\n第二行 🎉", "第一行\n第二行 🎉", nil},
		{"windows\r\nline", "windows\nline", nil},
		{"\n  padded \n", "padded", nil},
		{strings.Repeat("公", model.GroupNoticeMaxLen), strings.Repeat("公", model.GroupNoticeMaxLen), nil},
		{strings.Repeat("公", model.GroupNoticeMaxLen+1), "", model.ErrInvalid},
		{"tab\there", "", model.ErrInvalid},
		{"lone\rcarriage return", "", model.ErrInvalid},
		{"nul\x00", "", model.ErrInvalid},
		{"line\u2028separator", "", model.ErrInvalid},
		{"rtl\u2066isolate", "", model.ErrInvalid},
		{"bad \xc3 utf8", "", model.ErrInvalid},
	}
	for _, tt := range notices {
		got, err := model.CleanNotice(tt.in)
		if !isKind(err, tt.err) || got != tt.want {
			t.Errorf("CleanNotice(%q) = %q, %v; want %q, kind %v", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && model.Field(err) != "notice" {
			t.Errorf("CleanNotice(%q): field %q, want notice", tt.in, model.Field(err))
		}
	}
}

func TestCreateGroup(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, friend, friend2, stranger := b.user(), b.user(), b.user(), b.user()
		b.befriend(owner, friend, friend2)

		name := "乐聊 🎉 👨‍👩‍👧 群"
		g, err := b.groups.Create(owner.ctx, service.CreateGroupInput{Name: "  " + name + " ",
			Notice: "欢迎 👋\r\n第二行", AvatarURL: "https://img.example.com/a.png",
			MemberIDs: []uint64{friend.ID, friend2.ID, friend.ID, owner.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if g.ID == 0 || g.Name != name || g.Notice != "欢迎 👋\n第二行" || g.AvatarURL != "https://img.example.com/a.png" ||
			g.OwnerID != owner.ID || g.JoinApproval || g.MemberCount != 3 || g.MaxMembers != model.DefaultGroupMaxMembers ||
			g.ConversationID == nil || g.MyRole != model.RoleOwner || g.CreatedAt.IsZero() {
			t.Errorf("created %+v", g)
		}
		want := map[uint64]string{owner.ID: model.RoleOwner, friend.ID: model.RoleMember, friend2.ID: model.RoleMember}
		if got := b.roles(g.ID); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("members %v, want %v", got, want)
		}
		b.consistent(g.ID)

		// Each initial member is announced to every member, by the creator.
		evs := b.events.Events(model.EventGroupMemberJoined)
		if len(evs) != 2 {
			t.Fatalf("%d member_joined events, want 2", len(evs))
		}
		var joined []uint64
		for _, e := range evs {
			if got := slices.Sorted(slices.Values(e.To)); !slices.Equal(got, ids(owner, friend, friend2)) {
				t.Errorf("member_joined to %v", got)
			}
			d := e.Event.Data.(model.GroupEvent)
			if d.Group.ID != g.ID || d.Group.Name != name || d.By == nil || d.By.ID != owner.ID || d.Role != model.RoleMember || d.Group.MyRole != "" {
				t.Errorf("member_joined data %+v", d)
			}
			joined = append(joined, d.User.ID)
		}
		if slices.Sort(joined); !slices.Equal(joined, ids(friend, friend2)) {
			t.Errorf("joined %v", joined)
		}

		// The name round-trips through the database, and search finds it by any part.
		got, err := b.groups.Get(friend.ctx, g.ID)
		if err != nil || got.Name != name || got.Notice != "欢迎 👋\n第二行" || got.MyRole != model.RoleMember {
			t.Errorf("Get by member = %+v, %v", got, err)
		}
		for _, q := range []string{"🎉", "👨‍👩‍👧", "乐聊", "群"} {
			page, err := b.groups.Search(stranger.ctx, q, service.PageRequest{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(page.Items, func(v model.GroupView) bool { return v.ID == g.ID && v.Name == name }) &&
				page.NextCursor == "" {
				t.Errorf("Search(%q) did not find the group", q)
			}
		}

		// A group of one, and the creator alone hears of nothing.
		b.events.Reset()
		solo, err := b.groups.Create(stranger.ctx, service.CreateGroupInput{Name: "solo"})
		if err != nil || solo.MemberCount != 1 || solo.JoinApproval {
			t.Fatalf("solo group %+v, %v", solo, err)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("events for a group of one: %+v", evs)
		}
	})
}

func TestCreateGroupBadInputStoresNothing(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 5)
		owner, friend, stranger := b.user(), b.user(), b.user()
		b.befriend(owner, friend)
		many := make([]uint64, model.GroupInviteMax+1)
		for i := range many {
			many[i] = uint64(i + 1)
		}
		tests := []struct {
			name  string
			in    service.CreateGroupInput
			kind  error
			field string
		}{
			{"empty name", service.CreateGroupInput{Name: ""}, model.ErrInvalid, "name"},
			{"blank name", service.CreateGroupInput{Name: " \t "}, model.ErrInvalid, "name"},
			{"long name", service.CreateGroupInput{Name: strings.Repeat("群", 33)}, model.ErrInvalid, "name"},
			{"name on two lines", service.CreateGroupInput{Name: "a\nb"}, model.ErrInvalid, "name"},
			{"long notice", service.CreateGroupInput{Name: "ok", Notice: strings.Repeat("x", 501)}, model.ErrInvalid, "notice"},
			{"notice with a tab", service.CreateGroupInput{Name: "ok", Notice: "a\tb"}, model.ErrInvalid, "notice"},
			{"avatar not a URL", service.CreateGroupInput{Name: "ok", AvatarURL: "javascript:alert(1)"}, model.ErrInvalid, "avatar_url"},
			{"member id zero", service.CreateGroupInput{Name: "ok", MemberIDs: []uint64{0}}, model.ErrInvalid, "member_ids"},
			{"too many member ids", service.CreateGroupInput{Name: "ok", MemberIDs: many}, model.ErrInvalid, "member_ids"},
			{"over the member limit", service.CreateGroupInput{Name: "ok", MemberIDs: []uint64{friend.ID, 1 << 40, 1<<40 + 1, 1<<40 + 2, 1<<40 + 3}}, model.ErrInvalid, "member_ids"},
			{"a stranger", service.CreateGroupInput{Name: "ok", MemberIDs: []uint64{friend.ID, stranger.ID}}, model.ErrForbidden, "member_ids"},
			{"an unknown user", service.CreateGroupInput{Name: "ok", MemberIDs: []uint64{friend.ID, 1 << 40}}, model.ErrNotFound, "member_ids"},
		}
		for _, tt := range tests {
			_, err := b.groups.Create(owner.ctx, tt.in)
			if !isKind(err, tt.kind) || model.Field(err) != tt.field {
				t.Errorf("%s: Create = %v (field %q), want kind %v, field %q", tt.name, err, model.Field(err), tt.kind, tt.field)
			}
		}
		if n := count(t, db, "groups", "owner_id = ?", owner.ID); n != 0 {
			t.Errorf("%d groups stored", n)
		}
		if n := count(t, db, "group_members", "user_id IN ?", []uint64{owner.ID, friend.ID, stranger.ID}); n != 0 {
			t.Errorf("%d member rows stored", n)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("events published: %+v", evs)
		}
	})
}

// The permission matrix: every action by the owner, an admin, a member and an
// outsider of a group, each on a fresh group, with what must come of it. A refused
// action changes nothing stored and publishes nothing.
func TestGroupPermissionMatrix(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, admin, admin2, member, member2 := b.user(), b.user(), b.user(), b.user(), b.user()
		outsider, requester, invitee := b.user(), b.user(), b.user()
		b.befriend(owner, admin, admin2, member, member2)
		b.befriend(invitee, owner, admin, member, outsider)

		// fixture makes the group: owner; admins admin, admin2; members member,
		// member2; a pending join request of requester.
		fixture := func(t *testing.T) (gid, reqID uint64) {
			t.Helper()
			g := b.create(owner, true, admin, admin2, member, member2)
			for _, a := range []actor{admin, admin2} {
				if _, err := b.groups.SetRole(owner.ctx, g.ID, a.ID, model.RoleAdmin); err != nil {
					t.Fatal(err)
				}
			}
			_, req, err := b.groups.Join(requester.ctx, g.ID, "请让我加入")
			if err != nil || req == nil {
				t.Fatalf("join request: %v", err)
			}
			b.events.Reset()
			return g.ID, req.ID
		}

		F, C, I := model.ErrForbidden, model.ErrConflict, model.ErrInvalid
		type action func(ctx context.Context, gid, reqID uint64) error
		actions := []struct {
			name string
			do   action
			want [4]error // owner, admin, member, outsider
		}{
			{"get", func(ctx context.Context, gid, _ uint64) error { _, err := b.groups.Get(ctx, gid); return err },
				[4]error{nil, nil, nil, nil}},
			{"list members", func(ctx context.Context, gid, _ uint64) error {
				_, err := b.groups.Members(ctx, gid, service.PageRequest{})
				return err
			}, [4]error{nil, nil, nil, F}},
			{"update", func(ctx context.Context, gid, _ uint64) error {
				name := "新名字 ✨"
				_, err := b.groups.Update(ctx, gid, model.GroupPatch{Name: &name})
				return err
			}, [4]error{nil, nil, F, F}},
			{"invite a friend", func(ctx context.Context, gid, _ uint64) error {
				_, err := b.groups.Invite(ctx, gid, []uint64{invitee.ID})
				return err
			}, [4]error{nil, nil, nil, F}},
			{"join", func(ctx context.Context, gid, _ uint64) error { _, _, err := b.groups.Join(ctx, gid, ""); return err },
				[4]error{C, C, C, nil}},
			{"leave", func(ctx context.Context, gid, _ uint64) error { return b.groups.Leave(ctx, gid) },
				[4]error{F, nil, nil, F}},
			{"list join requests", func(ctx context.Context, gid, _ uint64) error {
				_, err := b.groups.JoinRequests(ctx, gid, service.PageRequest{})
				return err
			}, [4]error{nil, nil, F, F}},
			{"accept a join request", func(ctx context.Context, gid, reqID uint64) error {
				_, err := b.groups.AcceptJoinRequest(ctx, gid, reqID)
				return err
			}, [4]error{nil, nil, F, F}},
			{"reject a join request", func(ctx context.Context, gid, reqID uint64) error {
				_, err := b.groups.RejectJoinRequest(ctx, gid, reqID)
				return err
			}, [4]error{nil, nil, F, F}},
			{"remove a member", func(ctx context.Context, gid, _ uint64) error { return b.groups.RemoveMember(ctx, gid, member2.ID) },
				[4]error{nil, nil, F, F}},
			{"remove an admin", func(ctx context.Context, gid, _ uint64) error { return b.groups.RemoveMember(ctx, gid, admin2.ID) },
				[4]error{nil, F, F, F}},
			{"remove the owner", func(ctx context.Context, gid, _ uint64) error { return b.groups.RemoveMember(ctx, gid, owner.ID) },
				[4]error{I, F, F, F}},
			{"make an admin", func(ctx context.Context, gid, _ uint64) error {
				_, err := b.groups.SetRole(ctx, gid, member2.ID, model.RoleAdmin)
				return err
			}, [4]error{nil, F, F, F}},
			{"demote an admin", func(ctx context.Context, gid, _ uint64) error {
				_, err := b.groups.SetRole(ctx, gid, admin2.ID, model.RoleMember)
				return err
			}, [4]error{nil, F, F, F}},
			{"transfer", func(ctx context.Context, gid, _ uint64) error {
				_, err := b.groups.Transfer(ctx, gid, member2.ID)
				return err
			}, [4]error{nil, F, F, F}},
			{"disband", func(ctx context.Context, gid, _ uint64) error { return b.groups.Disband(ctx, gid) },
				[4]error{nil, F, F, F}},
		}
		actors := []struct {
			role string
			a    actor
		}{{"owner", owner}, {"admin", admin}, {"member", member}, {"outsider", outsider}}

		for _, act := range actions {
			for i, who := range actors {
				t.Run(act.name+" by "+who.role, func(t *testing.T) {
					b.t = t
					gid, reqID := fixture(t)
					before := b.state(gid)
					err := act.do(who.a.ctx, gid, reqID)
					if !isKind(err, act.want[i]) {
						t.Fatalf("%s by %s: %v, want %s", act.name, who.role, err, kindName(act.want[i]))
					}
					if err != nil {
						if after := b.state(gid); after != before {
							t.Errorf("refused, yet the group changed:\nbefore %s\nafter  %s", before, after)
						}
						if evs := b.events.Events(""); len(evs) != 0 {
							t.Errorf("refused, yet events were published: %+v", evs)
						}
						if model.ErrorMessage(err) == "internal error" {
							t.Errorf("no message for the user: %v", err)
						}
						return
					}
					if act.name != "disband" {
						b.consistent(gid)
					}
				})
			}
		}
		b.t = t

		// A group that does not exist is not found, whoever asks and whatever they do.
		gid, reqID := fixture(t)
		for _, act := range actions {
			for _, who := range actors {
				if err := act.do(who.a.ctx, 1<<40+gid, reqID); !errors.Is(err, model.ErrNotFound) {
					t.Errorf("%s by %s of no group: %v, want not_found", act.name, who.role, err)
				}
			}
		}
		// A join request of another group is not found either.
		other, otherReq := fixture(t)
		for _, answer := range []func(context.Context, uint64, uint64) (*model.GroupJoinRequestView, error){
			b.groups.AcceptJoinRequest, b.groups.RejectJoinRequest} {
			before := b.state(gid)
			if _, err := answer(owner.ctx, gid, otherReq); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("answer a request of group %d in group %d: %v, want not_found", other, gid, err)
			}
			if _, err := answer(owner.ctx, gid, 1<<40); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("answer no request: %v, want not_found", err)
			}
			if after := b.state(gid); after != before {
				t.Errorf("group changed:\n%s\n%s", before, after)
			}
		}
	})
}

func TestGroupViewsByRole(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, member, outsider := b.user(), b.user(), b.user()
		b.befriend(owner, member)
		g := b.create(owner, false, member)

		v, err := b.groups.Get(outsider.ctx, g.ID)
		if err != nil || v.MyRole != "" || v.Notice != "" || v.ConversationID != nil || v.Name != g.Name || v.MemberCount != 2 {
			t.Errorf("outsider sees %+v, %v", v, err)
		}
		v, err = b.groups.Get(member.ctx, g.ID)
		if err != nil || v.MyRole != model.RoleMember || v.Notice != "第一行\n第二行" {
			t.Errorf("member sees %+v, %v", v, err)
		}
		// Search shows each group as the searcher sees it.
		page, err := b.groups.Search(outsider.ctx, g.Name, service.PageRequest{})
		if err != nil || len(page.Items) != 1 || page.Items[0].MyRole != "" || page.Items[0].Notice != "" {
			t.Errorf("outsider's search: %+v, %v", page, err)
		}
		page, err = b.groups.Search(owner.ctx, g.Name, service.PageRequest{})
		if err != nil || len(page.Items) != 1 || page.Items[0].MyRole != model.RoleOwner || page.Items[0].Notice == "" {
			t.Errorf("owner's search: %+v, %v", page, err)
		}
		members, err := b.groups.Members(member.ctx, g.ID, service.PageRequest{})
		if err != nil || len(members.Items) != 2 || members.Items[0].User.ID != min(owner.ID, member.ID) {
			t.Fatalf("members: %+v, %v", members, err)
		}
		for _, m := range members.Items {
			want := map[uint64]string{owner.ID: model.RoleOwner, member.ID: model.RoleMember}[m.User.ID]
			if m.Role != want || m.JoinedAt.IsZero() || m.User.Username == "" {
				t.Errorf("member %+v", m)
			}
		}
	})
}

func TestMyGroupsAndSearchPaging(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		me, other := b.user(), b.user()
		b.befriend(other, me)
		token := servicetest.Unique("pg")
		var made []uint64
		for i := range 3 {
			g, err := b.groups.Create(other.ctx, service.CreateGroupInput{Name: fmt.Sprintf("%s 第%d群", token, i),
				MemberIDs: []uint64{me.ID}})
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, g.ID)
		}
		mine, err := b.groups.Create(me.ctx, service.CreateGroupInput{Name: "mine only"})
		if err != nil {
			t.Fatal(err)
		}

		var got []uint64
		var roles []string
		page := service.PageRequest{Limit: 2}
		for n := 0; ; n++ {
			p, err := b.groups.Mine(me.ctx, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range p.Items {
				got, roles = append(got, v.ID), append(roles, v.MyRole)
			}
			if p.NextCursor == "" {
				break
			}
			if n > 3 {
				t.Fatal("paging does not end")
			}
			page.Cursor = p.NextCursor
		}
		if want := append(slices.Clone(made), mine.ID); !slices.Equal(got, want) {
			t.Errorf("my groups %v, want %v", got, want)
		}
		if want := []string{"member", "member", "member", "owner"}; !slices.Equal(roles, want) {
			t.Errorf("my roles %v, want %v", roles, want)
		}

		p1, err := b.groups.Search(me.ctx, token, service.PageRequest{Limit: 2})
		if err != nil || len(p1.Items) != 2 || p1.NextCursor == "" {
			t.Fatalf("search page 1: %+v, %v", p1, err)
		}
		p2, err := b.groups.Search(me.ctx, token, service.PageRequest{Limit: 2, Cursor: p1.NextCursor})
		if err != nil || len(p2.Items) != 1 || p2.NextCursor != "" || p2.Items[0].ID != made[2] {
			t.Fatalf("search page 2: %+v, %v", p2, err)
		}

		// Wildcards match themselves only.
		wild, err := b.groups.Create(me.ctx, service.CreateGroupInput{Name: token + " 100%_!"})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"%", "_", "!", token + " 100%_!"} {
			p, err := b.groups.Search(me.ctx, q, service.PageRequest{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range p.Items {
				if !strings.Contains(v.Name, q) {
					t.Errorf("Search(%q) found %q", q, v.Name)
				}
			}
			if q == token+" 100%_!" && (len(p.Items) != 1 || p.Items[0].ID != wild.ID) {
				t.Errorf("Search(%q) = %+v", q, p.Items)
			}
		}

		for _, bad := range []struct {
			q    string
			page service.PageRequest
		}{{"", service.PageRequest{}}, {"   ", service.PageRequest{}}, {strings.Repeat("x", 65), service.PageRequest{}},
			{"x", service.PageRequest{Limit: 101}}, {"x", service.PageRequest{Limit: -1}}, {"x", service.PageRequest{Cursor: "abc"}}} {
			if _, err := b.groups.Search(me.ctx, bad.q, bad.page); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("Search(%q, %+v) = %v, want invalid", bad.q, bad.page, err)
			}
		}
		if _, err := b.groups.Mine(me.ctx, service.PageRequest{Cursor: "-1"}); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("Mine with a bad cursor: %v", err)
		}
	})
}

func TestUpdateGroup(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, admin, member := b.user(), b.user(), b.user()
		b.befriend(owner, admin, member)
		g := b.create(owner, false, admin, member)
		if _, err := b.groups.SetRole(owner.ctx, g.ID, admin.ID, model.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		b.events.Reset()

		name, notice, avatar, approval := "乐聊 🎉 👨‍👩‍👧 群", "新公告\n请遵守群规", "/uploads/g.png", true
		v, err := b.groups.Update(admin.ctx, g.ID, model.GroupPatch{Name: &name, Notice: &notice, AvatarURL: &avatar, JoinApproval: &approval})
		if err != nil || v.Name != name || v.Notice != notice || v.AvatarURL != avatar || !v.JoinApproval || v.MyRole != model.RoleAdmin {
			t.Fatalf("Update = %+v, %v", v, err)
		}
		d := b.expectEvent(model.EventGroupUpdated, owner, admin, member).(model.GroupEvent)
		if d.Group.Name != name || d.By == nil || d.By.ID != admin.ID || d.User != nil {
			t.Errorf("updated event %+v", d)
		}
		got, _ := b.groups.Get(owner.ctx, g.ID)
		if got.Name != name || got.Notice != notice || got.AvatarURL != avatar || !got.JoinApproval {
			t.Errorf("stored %+v", got)
		}

		// Nothing to change: no write, no event.
		b.events.Reset()
		if _, err := b.groups.Update(owner.ctx, g.ID, model.GroupPatch{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("events for no change: %+v", evs)
		}

		long, empty, tab, badURL := strings.Repeat("名", 33), " ", "a\tb", "ftp://x/y.png"
		for _, p := range []model.GroupPatch{{Name: &long}, {Name: &empty}, {Notice: &tab}, {AvatarURL: &badURL},
			{Name: &name, Notice: &tab}} {
			before := b.state(g.ID)
			if _, err := b.groups.Update(owner.ctx, g.ID, p); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("Update(%+v) = %v, want invalid", p, err)
			}
			if after := b.state(g.ID); after != before {
				t.Errorf("a refused update changed the group:\n%s\n%s", before, after)
			}
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("events for refused updates: %+v", evs)
		}
	})
}

// TestGroupEvents follows a group through its life and checks every event's
// recipients and data.
func TestGroupEvents(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, admin, member, joiner, asker, bystander := b.user(), b.user(), b.user(), b.user(), b.user(), b.user()
		b.befriend(owner, admin, member)
		g := b.create(owner, false, admin, member)
		if _, err := b.groups.SetRole(owner.ctx, g.ID, admin.ID, model.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		d := b.expectEvent(model.EventGroupUpdated, owner, admin, member).(model.GroupEvent)
		if d.User == nil || d.User.ID != admin.ID || d.Role != model.RoleAdmin || d.By.ID != owner.ID {
			t.Errorf("role event %+v", d)
		}

		// A free join: everyone, the newcomer included.
		b.events.Reset()
		gv, req, err := b.groups.Join(joiner.ctx, g.ID, "")
		if err != nil || req != nil || gv == nil || gv.MyRole != model.RoleMember || gv.MemberCount != 4 {
			t.Fatalf("Join = %+v, %+v, %v", gv, req, err)
		}
		d = b.expectEvent(model.EventGroupMemberJoined, owner, admin, member, joiner).(model.GroupEvent)
		if d.User.ID != joiner.ID || d.By != nil || d.Group.MemberCount != 4 {
			t.Errorf("joined event %+v", d)
		}

		// With approval: a request, to the owner and admins only; asking again while
		// it is pending changes the message and tells nobody.
		approval := true
		if _, err := b.groups.Update(owner.ctx, g.ID, model.GroupPatch{JoinApproval: &approval}); err != nil {
			t.Fatal(err)
		}
		b.events.Reset()
		gv, req, err = b.groups.Join(asker.ctx, g.ID, "我是 👋")
		if err != nil || gv != nil || req == nil || req.Status != model.RequestPending || req.User.ID != asker.ID || req.Message != "我是 👋" {
			t.Fatalf("Join with approval = %+v, %+v, %v", gv, req, err)
		}
		rv := b.expectEvent(model.EventGroupJoinRequest, owner, admin).(model.GroupJoinRequestView)
		if rv.ID != req.ID || rv.GroupID != g.ID || rv.User.ID != asker.ID {
			t.Errorf("join_request event %+v", rv)
		}
		b.events.Reset()
		_, again, err := b.groups.Join(asker.ctx, g.ID, "again")
		if err != nil || again.ID != req.ID || again.Message != "again" {
			t.Fatalf("asking again = %+v, %v", again, err)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("asking again notified: %+v", evs)
		}
		if n := count(t, db, "group_join_requests", "group_id = ? AND user_id = ?", g.ID, asker.ID); n != 1 {
			t.Errorf("%d request rows", n)
		}
		list, err := b.groups.JoinRequests(admin.ctx, g.ID, service.PageRequest{})
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != req.ID || list.Items[0].Message != "again" {
			t.Errorf("JoinRequests = %+v, %v", list, err)
		}

		// Rejected, then asked again: the same row, pending again, announced again.
		b.events.Reset()
		if rej, err := b.groups.RejectJoinRequest(admin.ctx, g.ID, req.ID); err != nil || rej.Status != model.RequestRejected {
			t.Fatalf("reject = %+v, %v", rej, err)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("reject published %+v", evs)
		}
		if _, err := b.groups.AcceptJoinRequest(owner.ctx, g.ID, req.ID); !errors.Is(err, model.ErrConflict) {
			t.Errorf("accepting a rejected request: %v, want conflict", err)
		}
		_, req2, err := b.groups.Join(asker.ctx, g.ID, "please")
		if err != nil || req2.ID != req.ID || req2.Status != model.RequestPending {
			t.Fatalf("asking after a rejection = %+v, %v", req2, err)
		}
		b.expectEvent(model.EventGroupJoinRequest, owner, admin)

		// Accepted: the asker joins; everyone hears it, by the acceptor.
		b.events.Reset()
		acc, err := b.groups.AcceptJoinRequest(admin.ctx, g.ID, req.ID)
		if err != nil || acc.Status != model.RequestAccepted {
			t.Fatalf("accept = %+v, %v", acc, err)
		}
		d = b.expectEvent(model.EventGroupMemberJoined, owner, admin, member, joiner, asker).(model.GroupEvent)
		if d.User.ID != asker.ID || d.By == nil || d.By.ID != admin.ID {
			t.Errorf("accepted joined event %+v", d)
		}
		if _, err := b.groups.AcceptJoinRequest(admin.ctx, g.ID, req.ID); !errors.Is(err, model.ErrConflict) {
			t.Errorf("accepting twice: %v, want conflict", err)
		}
		b.consistent(g.ID)

		// Removed by the owner: the rest and the removed one.
		b.events.Reset()
		if err := b.groups.RemoveMember(owner.ctx, g.ID, asker.ID); err != nil {
			t.Fatal(err)
		}
		d = b.expectEvent(model.EventGroupMemberLeft, owner, admin, member, joiner, asker).(model.GroupEvent)
		if d.User.ID != asker.ID || d.By == nil || d.By.ID != owner.ID || d.Group.MemberCount != 4 {
			t.Errorf("removed event %+v", d)
		}
		// Left: the rest and the one who left, by nobody.
		b.events.Reset()
		if err := b.groups.Leave(joiner.ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		d = b.expectEvent(model.EventGroupMemberLeft, owner, admin, member, joiner).(model.GroupEvent)
		if d.User.ID != joiner.ID || d.By != nil || d.Group.MemberCount != 3 {
			t.Errorf("left event %+v", d)
		}

		// Transfer: everyone; the new owner owns, the old owner is an admin.
		b.events.Reset()
		tv, err := b.groups.Transfer(owner.ctx, g.ID, member.ID)
		if err != nil || tv.OwnerID != member.ID || tv.MyRole != model.RoleAdmin {
			t.Fatalf("Transfer = %+v, %v", tv, err)
		}
		d = b.expectEvent(model.EventGroupUpdated, owner, admin, member).(model.GroupEvent)
		if d.User.ID != member.ID || d.Role != model.RoleOwner || d.By.ID != owner.ID || d.Group.OwnerID != member.ID {
			t.Errorf("transfer event %+v", d)
		}
		want := map[uint64]string{owner.ID: model.RoleAdmin, admin.ID: model.RoleAdmin, member.ID: model.RoleOwner}
		if got := b.roles(g.ID); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("roles after transfer %v, want %v", got, want)
		}
		b.consistent(g.ID)
		if err := b.groups.Leave(member.ctx, g.ID); !errors.Is(err, model.ErrForbidden) ||
			!strings.Contains(model.ErrorMessage(err), "transfer") {
			t.Errorf("the new owner leaves: %v, want forbidden with advice", err)
		}
		if err := b.groups.Disband(owner.ctx, g.ID); !errors.Is(err, model.ErrForbidden) {
			t.Errorf("the old owner disbands: %v, want forbidden", err)
		}

		// Disband: every former member; nothing of the group is left.
		if _, _, err := b.groups.Join(bystander.ctx, g.ID, "hi"); err != nil {
			t.Fatal(err)
		}
		b.events.Reset()
		if err := b.groups.Disband(member.ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		d = b.expectEvent(model.EventGroupDisbanded, owner, admin, member).(model.GroupEvent)
		if d.Group.ID != g.ID || d.By.ID != member.ID {
			t.Errorf("disbanded event %+v", d)
		}
		for _, table := range []string{"groups", "group_members", "group_join_requests"} {
			col := "group_id"
			if table == "groups" {
				col = "id"
			}
			if n := count(t, db, table, col+" = ?", g.ID); n != 0 {
				t.Errorf("%d rows left in %s", n, table)
			}
		}
		if _, err := b.groups.Get(owner.ctx, g.ID); !errors.Is(err, model.ErrNotFound) {
			t.Errorf("Get of a disbanded group: %v", err)
		}
		if g.ConversationID == nil {
			t.Fatal("the group had no conversation")
		}
		for _, table := range []string{"conversations", "conversation_members", "messages"} {
			col := "conversation_id"
			if table == "conversations" {
				col = "id"
			}
			if n := count(t, db, table, col+" = ?", *g.ConversationID); n != 0 {
				t.Errorf("%d rows of the group's conversation left in %s", n, table)
			}
		}
	})
}

func TestInvite(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, member, f1, f2, ownersFriend, asker := b.user(), b.user(), b.user(), b.user(), b.user(), b.user()
		b.befriend(owner, member, ownersFriend)
		b.befriend(member, f1, f2, asker)
		g := b.create(owner, true, member)
		_, req, err := b.groups.Join(asker.ctx, g.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		b.events.Reset()

		// A plain member invites friends; those already in are skipped, and an
		// invitee's pending request counts as accepted.
		added, err := b.groups.Invite(member.ctx, g.ID, []uint64{f1.ID, owner.ID, f1.ID, asker.ID, member.ID})
		if err != nil {
			t.Fatal(err)
		}
		if got := []uint64{added[0].User.ID, added[1].User.ID}; len(added) != 2 || !slices.Equal(got, ids(f1, asker)) {
			t.Fatalf("added %+v", added)
		}
		for _, m := range added {
			if m.Role != model.RoleMember || m.JoinedAt.IsZero() {
				t.Errorf("added %+v", m)
			}
		}
		evs := b.events.Events(model.EventGroupMemberJoined)
		if len(evs) != 2 || len(b.events.Events("")) != 2 {
			t.Fatalf("events %+v", b.events.Events(""))
		}
		for _, e := range evs {
			if got := slices.Sorted(slices.Values(e.To)); !slices.Equal(got, ids(owner, member, f1, asker)) {
				t.Errorf("member_joined to %v", got)
			}
			if d := e.Event.Data.(model.GroupEvent); d.By == nil || d.By.ID != member.ID {
				t.Errorf("member_joined by %+v", d.By)
			}
		}
		var r model.GroupJoinRequest
		db.Take(&r, req.ID)
		if r.Status != model.RequestAccepted {
			t.Errorf("the invitee's request is %s", r.Status)
		}
		b.consistent(g.ID)

		// Everyone in the list must be the inviter's friend, or nobody is added.
		b.events.Reset()
		before := b.state(g.ID)
		for _, tt := range []struct {
			name string
			ids  []uint64
			kind error
		}{
			{"the owner's friend, not the inviter's", []uint64{f2.ID, ownersFriend.ID}, model.ErrForbidden},
			{"an unknown user", []uint64{f2.ID, 1 << 40}, model.ErrNotFound},
			{"nobody", nil, model.ErrInvalid},
			{"user id zero", []uint64{0}, model.ErrInvalid},
			{"too many", make([]uint64, model.GroupInviteMax+1), model.ErrInvalid},
		} {
			_, err := b.groups.Invite(member.ctx, g.ID, tt.ids)
			if !errors.Is(err, tt.kind) || model.Field(err) != "user_ids" {
				t.Errorf("%s: %v (field %q), want %s on user_ids", tt.name, err, model.Field(err), kindName(tt.kind))
			}
		}
		if after := b.state(g.ID); after != before {
			t.Errorf("refused invites changed the group:\n%s\n%s", before, after)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("refused invites published %+v", evs)
		}

		// Inviting only members adds nobody and tells nobody.
		added, err = b.groups.Invite(owner.ctx, g.ID, []uint64{member.ID})
		if err != nil || len(added) != 0 {
			t.Errorf("invite a member: %+v, %v", added, err)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("events %+v", evs)
		}
	})
}

func TestRemoveAndRoles(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, admin, member, outsider := b.user(), b.user(), b.user(), b.user()
		b.befriend(owner, admin, member)
		g := b.create(owner, false, admin, member)
		if _, err := b.groups.SetRole(owner.ctx, g.ID, admin.ID, model.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		b.events.Reset()
		before := b.state(g.ID)
		for _, tt := range []struct {
			name string
			err  error
			kind error
		}{
			{"admin removes itself", b.groups.RemoveMember(admin.ctx, g.ID, admin.ID), model.ErrInvalid},
			{"member removes itself", b.groups.RemoveMember(member.ctx, g.ID, member.ID), model.ErrInvalid},
			{"remove a non-member", b.groups.RemoveMember(owner.ctx, g.ID, outsider.ID), model.ErrNotFound},
			{"admin removes the owner", b.groups.RemoveMember(admin.ctx, g.ID, owner.ID), model.ErrForbidden},
			{"role owner", func() error { _, err := b.groups.SetRole(owner.ctx, g.ID, member.ID, model.RoleOwner); return err }(), model.ErrInvalid},
			{"unknown role", func() error { _, err := b.groups.SetRole(owner.ctx, g.ID, member.ID, "king"); return err }(), model.ErrInvalid},
			{"owner demotes itself", func() error { _, err := b.groups.SetRole(owner.ctx, g.ID, owner.ID, model.RoleMember); return err }(), model.ErrInvalid},
			{"role of a non-member", func() error { _, err := b.groups.SetRole(owner.ctx, g.ID, outsider.ID, model.RoleAdmin); return err }(), model.ErrNotFound},
			{"transfer to a non-member", func() error { _, err := b.groups.Transfer(owner.ctx, g.ID, outsider.ID); return err }(), model.ErrNotFound},
			{"transfer to itself", func() error { _, err := b.groups.Transfer(owner.ctx, g.ID, owner.ID); return err }(), model.ErrInvalid},
			{"transfer to nobody", func() error { _, err := b.groups.Transfer(owner.ctx, g.ID, 0); return err }(), model.ErrInvalid},
			{"outsider leaves", b.groups.Leave(outsider.ctx, g.ID), model.ErrForbidden},
		} {
			if !errors.Is(tt.err, tt.kind) {
				t.Errorf("%s: %v, want %s", tt.name, tt.err, kindName(tt.kind))
			}
		}
		if after := b.state(g.ID); after != before {
			t.Errorf("refused changes changed the group:\n%s\n%s", before, after)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("refused changes published %+v", evs)
		}

		// Setting the role a member has already is fine and tells nobody.
		m, err := b.groups.SetRole(owner.ctx, g.ID, admin.ID, model.RoleAdmin)
		if err != nil || m.Role != model.RoleAdmin || m.User.ID != admin.ID {
			t.Errorf("SetRole again = %+v, %v", m, err)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("events %+v", evs)
		}
		// An admin demoted loses the right to edit.
		if _, err := b.groups.SetRole(owner.ctx, g.ID, admin.ID, model.RoleMember); err != nil {
			t.Fatal(err)
		}
		name := "x"
		if _, err := b.groups.Update(admin.ctx, g.ID, model.GroupPatch{Name: &name}); !errors.Is(err, model.ErrForbidden) {
			t.Errorf("a demoted admin edits: %v", err)
		}
		// A removed member sees the group from outside and can join again.
		if err := b.groups.RemoveMember(owner.ctx, g.ID, member.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.groups.Members(member.ctx, g.ID, service.PageRequest{}); !errors.Is(err, model.ErrForbidden) {
			t.Errorf("a removed member lists members: %v", err)
		}
		if v, _, err := b.groups.Join(member.ctx, g.ID, ""); err != nil || v.MyRole != model.RoleMember {
			t.Errorf("join again: %+v, %v", v, err)
		}
		b.consistent(g.ID)
	})
}

func TestMemberLimit(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 3)
		owner, a, c, d, x, y := b.user(), b.user(), b.user(), b.user(), b.user(), b.user()
		b.befriend(owner, a, c, d)
		if _, err := b.groups.Create(owner.ctx, service.CreateGroupInput{Name: "too big", MemberIDs: []uint64{a.ID, c.ID, d.ID}}); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("create over the limit: %v", err)
		}
		g := b.create(owner, false, a)
		if g.MaxMembers != 3 {
			t.Errorf("max_members %d", g.MaxMembers)
		}
		before := b.state(g.ID)
		if _, err := b.groups.Invite(owner.ctx, g.ID, []uint64{c.ID, d.ID}); !errors.Is(err, model.ErrConflict) {
			t.Errorf("invite over the limit: %v, want conflict", err)
		}
		if after := b.state(g.ID); after != before {
			t.Errorf("a refused invite changed the group:\n%s\n%s", before, after)
		}
		// x asks while there is room; then the group fills up.
		approval := true
		if _, err := b.groups.Update(owner.ctx, g.ID, model.GroupPatch{JoinApproval: &approval}); err != nil {
			t.Fatal(err)
		}
		_, req, err := b.groups.Join(x.ctx, g.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.groups.Invite(owner.ctx, g.ID, []uint64{c.ID}); err != nil {
			t.Fatal(err)
		}
		b.events.Reset()
		before = b.state(g.ID)
		if _, _, err := b.groups.Join(y.ctx, g.ID, ""); !errors.Is(err, model.ErrConflict) {
			t.Errorf("ask to join a full group: %v, want conflict", err)
		}
		if _, err := b.groups.AcceptJoinRequest(owner.ctx, g.ID, req.ID); !errors.Is(err, model.ErrConflict) {
			t.Errorf("accept into a full group: %v, want conflict", err)
		}
		if after := b.state(g.ID); after != before {
			t.Errorf("refused joins changed the group:\n%s\n%s", before, after)
		}
		if evs := b.events.Events(""); len(evs) != 0 {
			t.Errorf("events %+v", evs)
		}
		// Room again: the request, still pending, can be accepted.
		if err := b.groups.Leave(c.ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if r, err := b.groups.AcceptJoinRequest(owner.ctx, g.ID, req.ID); err != nil || r.Status != model.RequestAccepted {
			t.Errorf("accept after a leave: %+v, %v", r, err)
		}
		b.consistent(g.ID)
		approval = false
		if _, err := b.groups.Update(owner.ctx, g.ID, model.GroupPatch{JoinApproval: &approval}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.groups.Join(y.ctx, g.ID, ""); !errors.Is(err, model.ErrConflict) {
			t.Errorf("join a full group: %v, want conflict", err)
		}
		b.consistent(g.ID)
	})
}

func TestBadJoinInput(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, x := b.user(), b.user()
		g := b.create(owner, true)
		before := b.state(g.ID)
		for _, msg := range []string{strings.Repeat("字", model.RequestMessageMaxLen+1), "two\nlines", "\xff"} {
			if _, _, err := b.groups.Join(x.ctx, g.ID, msg); !errors.Is(err, model.ErrInvalid) || model.Field(err) != "message" {
				t.Errorf("Join with message %q: %v", msg, err)
			}
		}
		if after := b.state(g.ID); after != before {
			t.Errorf("bad joins changed the group:\n%s\n%s", before, after)
		}
		for _, p := range []service.PageRequest{{Limit: 101}, {Cursor: "x"}} {
			if _, err := b.groups.Members(owner.ctx, g.ID, p); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("Members(%+v): %v", p, err)
			}
			if _, err := b.groups.JoinRequests(owner.ctx, g.ID, p); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("JoinRequests(%+v): %v", p, err)
			}
		}
	})
}

// N users join a group with one free place at once: exactly one gets in.
func TestConcurrentJoinsRespectTheLimit(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 3)
		owner, member := b.user(), b.user()
		b.befriend(owner, member)
		g := b.create(owner, false, member)
		const n = 8
		joiners := make([]actor, n)
		for i := range joiners {
			joiners[i] = b.user()
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, j := range joiners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, _, errs[i] = b.groups.Join(j.ctx, g.ID, "")
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, model.ErrConflict):
				t.Errorf("joiner %d: %v, want conflict", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("%d joined, want 1", ok)
		}
		b.consistent(g.ID)
		if len(b.roles(g.ID)) != 3 {
			t.Errorf("%d members", len(b.roles(g.ID)))
		}
		if evs := b.events.Events(model.EventGroupMemberJoined); len(evs) != 2 { // 1 at create, 1 join
			t.Errorf("%d member_joined events", len(evs))
		}
	})
}

// The same user joining twice at once, and two admins accepting one request at
// once: one member row each time.
func TestConcurrentDuplicates(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		b := newGroupBed(t, db, 0)
		owner, admin, x, y := b.user(), b.user(), b.user(), b.user()
		b.befriend(owner, admin)
		open := b.create(owner, false)
		closed := b.create(owner, true, admin)
		if _, err := b.groups.SetRole(owner.ctx, closed.ID, admin.ID, model.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		_, req, err := b.groups.Join(y.ctx, closed.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		for round := range 3 {
			errs := make([]error, 4)
			var wg sync.WaitGroup
			start := make(chan struct{})
			run := func(i int, f func() error) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = f()
				}()
			}
			if round > 0 { // again, from outside
				if err := b.groups.Leave(x.ctx, open.ID); err != nil {
					t.Fatal(err)
				}
				if err := b.groups.RemoveMember(owner.ctx, closed.ID, y.ID); err != nil {
					t.Fatal(err)
				}
				_, r, err := b.groups.Join(y.ctx, closed.ID, "")
				if err != nil || r.ID != req.ID {
					t.Fatalf("ask again: %+v, %v", r, err)
				}
			}
			for i := range 2 {
				run(i, func() error { _, _, err := b.groups.Join(x.ctx, open.ID, ""); return err })
			}
			for i, a := range []actor{owner, admin} {
				run(2+i, func() error { _, err := b.groups.AcceptJoinRequest(a.ctx, closed.ID, req.ID); return err })
			}
			close(start)
			wg.Wait()
			for _, pair := range [][]error{errs[:2], errs[2:]} {
				oks := 0
				for _, err := range pair {
					if err == nil {
						oks++
					} else if !errors.Is(err, model.ErrConflict) {
						t.Errorf("round %d: %v, want conflict", round, err)
					}
				}
				if oks != 1 {
					t.Errorf("round %d: %d of %v succeeded, want 1", round, oks, pair)
				}
			}
			if n := count(t, db, "group_members", "group_id = ? AND user_id = ?", open.ID, x.ID); n != 1 {
				t.Errorf("round %d: %d rows of x", round, n)
			}
			if n := count(t, db, "group_members", "group_id = ? AND user_id = ?", closed.ID, y.ID); n != 1 {
				t.Errorf("round %d: %d rows of y", round, n)
			}
			b.consistent(open.ID)
			b.consistent(closed.ID)
		}
	})
}
