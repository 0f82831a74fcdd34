package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"lechat/model"
)

// GroupsConfig holds the rules of groups.
type GroupsConfig struct {
	// MaxMembers is the member limit of a new group (each group keeps the limit it
	// was created with); 0 means model.DefaultGroupMaxMembers.
	MaxMembers int
}

// Groups keeps group chats: their settings, members, roles and join requests.
//
// Roles: the owner may do everything; admins edit the group, invite, answer join
// requests and remove plain members; members see the group, its members, invite
// their friends and leave. Every change takes the group's row lock first, so the
// changes of one group are serialized and member_count always equals the number
// of member rows. Events leave through Notifier after commit.
//
// Each group has a conversation, made with it; its members are the group's
// members (kept in step in the same transactions) and it goes with the group.
type Groups struct {
	db  *gorm.DB
	cfg GroupsConfig
	log *slog.Logger
	// Notifier receives the group.* events after commit; NopNotifier{} by default.
	Notifier Notifier
	// Images, when set, requires avatars to be this server's uploads.
	Images Images
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewGroups returns the groups service.
func NewGroups(db *gorm.DB, cfg GroupsConfig, log *slog.Logger) *Groups {
	if cfg.MaxMembers <= 0 {
		cfg.MaxMembers = model.DefaultGroupMaxMembers
	}
	return &Groups{db: db, cfg: cfg, log: log, Notifier: NopNotifier{}, Now: time.Now}
}

func (s *Groups) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// CreateGroupInput is the body of POST /groups.
type CreateGroupInput struct {
	Name         string   `json:"name"`
	Notice       string   `json:"notice"`
	AvatarURL    string   `json:"avatar_url"`
	MemberIDs    []uint64 `json:"member_ids"`
	JoinApproval *bool    `json:"join_approval"` // nil means false: anyone may join
}

// Create makes a group owned by the current user, with the given friends as its
// first members; each of them learns it by a group.member_joined event (to every
// member). The creator's own id in MemberIDs is ignored. Returns ErrInvalid,
// ErrNotFound (an unknown user id) or ErrForbidden (a user who is not the
// creator's friend); nothing is stored then.
func (s *Groups) Create(ctx context.Context, in CreateGroupInput) (*model.GroupView, error) {
	me := model.UserID(ctx)
	name, err := model.CleanGroupName(in.Name)
	if err != nil {
		return nil, err
	}
	notice, err := model.CleanNotice(in.Notice)
	if err != nil {
		return nil, err
	}
	avatar, err := model.ValidateImageURL("avatar_url", in.AvatarURL)
	if err == nil {
		err = checkAvatar(ctx, s.Images, &avatar)
	}
	if err != nil {
		return nil, err
	}
	ids, err := cleanUserIDs("member_ids", in.MemberIDs, me, false)
	if err != nil {
		return nil, err
	}
	if 1+len(ids) > s.cfg.MaxMembers {
		return nil, model.FieldErrorf(model.ErrInvalid, "member_ids", "a group has at most %d members", s.cfg.MaxMembers)
	}
	now := s.now()
	g := &model.Group{Name: name, Notice: notice, AvatarURL: avatar, OwnerID: me,
		JoinApproval: in.JoinApproval != nil && *in.JoinApproval, MaxMembers: s.cfg.MaxMembers,
		MemberCount: 1 + len(ids), CreatedAt: now, UpdatedAt: now}
	var out outbox
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = nil
		users, err := knownFriends(tx, me, "member_ids", ids)
		if err != nil {
			return err
		}
		if err := tx.Create(g).Error; err != nil {
			return fmt.Errorf("insert group: %w", dbErr(err))
		}
		rows := []model.GroupMember{{GroupID: g.ID, UserID: me, Role: model.RoleOwner, JoinedAt: now}}
		for _, id := range ids {
			rows = append(rows, model.GroupMember{GroupID: g.ID, UserID: id, Role: model.RoleMember, JoinedAt: now})
		}
		if err := tx.Create(&rows).Error; err != nil {
			return fmt.Errorf("insert members: %w", dbErr(err))
		}
		all := append([]uint64{me}, ids...)
		convID, err := createGroupConversation(tx, g.ID, now, all...)
		if err != nil {
			return err
		}
		g.ConversationID = &convID
		if err := tx.Model(&model.Group{}).Where("id = ?", g.ID).Update("conversation_id", convID).Error; err != nil {
			return fmt.Errorf("link group conversation: %w", err)
		}
		for _, id := range ids {
			out.add(all, model.EventGroupMemberJoined, model.GroupEvent{Group: eventView(g),
				User: userOf(users, id), By: userOf(users, me), Role: model.RoleMember})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.publish(ctx, s.Notifier)
	v := g.View(model.RoleOwner)
	return &v, nil
}

// Get returns group id as the current user sees it: members see every field and
// their role; anyone else sees the public fields (no notice, no conversation) and
// my_role "". Returns ErrNotFound.
func (s *Groups) Get(ctx context.Context, id uint64) (*model.GroupView, error) {
	db := s.db.WithContext(ctx)
	g, err := findGroup(db, id)
	if err != nil {
		return nil, err
	}
	role, err := roleOf(db, id, model.UserID(ctx))
	if err != nil {
		return nil, err
	}
	v := g.View(role)
	return &v, nil
}

// Update changes the settings of group id; only its owner and admins may. When
// something changed, every member gets group.updated (by = the editor). Returns
// ErrInvalid, ErrNotFound or ErrForbidden; nothing is stored then.
func (s *Groups) Update(ctx context.Context, id uint64, p model.GroupPatch) (*model.GroupView, error) {
	if _, err := p.Apply(&model.Group{}); err != nil { // bad input is bad whoever sends it
		return nil, err
	}
	if p.AvatarURL != nil {
		url, _ := model.ValidateImageURL("avatar_url", *p.AvatarURL) // valid: Apply said so
		if err := checkAvatar(ctx, s.Images, &url); err != nil {
			return nil, err
		}
	}
	me := model.UserID(ctx)
	var (
		g    *model.Group
		role string
		out  outbox
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = nil
		var err error
		if g, role, err = lockAs(tx, id, me, "edit this group", model.RoleOwner, model.RoleAdmin); err != nil {
			return err
		}
		changed, err := p.Apply(g)
		if err != nil || !changed {
			return err
		}
		g.UpdatedAt = s.now()
		if err := tx.Model(g).Select("name", "notice", "avatar_url", "join_approval", "updated_at").
			Updates(g).Error; err != nil {
			return fmt.Errorf("update group: %w", dbErr(err))
		}
		all, err := memberIDs(tx, id)
		if err != nil {
			return err
		}
		users, err := publicUsers(tx, me)
		if err != nil {
			return err
		}
		out.add(all, model.EventGroupUpdated, model.GroupEvent{Group: eventView(g), By: userOf(users, me)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.publish(ctx, s.Notifier)
	v := g.View(role)
	return &v, nil
}

// Mine lists the groups the current user belongs to, in id order. Returns ErrInvalid
// for a bad page request.
func (s *Groups) Mine(ctx context.Context, page PageRequest) (Page[model.GroupView], error) {
	after, limit, err := page.idCursor()
	if err != nil {
		return Page[model.GroupView]{}, err
	}
	db := s.db.WithContext(ctx)
	var rows []model.GroupMember
	if err := db.Where("user_id = ? AND group_id > ?", model.UserID(ctx), after).
		Order("group_id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page[model.GroupView]{}, fmt.Errorf("list my groups: %w", err)
	}
	mp := pageByID(rows, limit, func(m model.GroupMember) uint64 { return m.GroupID })
	ids := make([]uint64, len(mp.Items))
	for i, m := range mp.Items {
		ids[i] = m.GroupID
	}
	groups, err := groupsByID(db, ids)
	if err != nil {
		return Page[model.GroupView]{}, err
	}
	out := Page[model.GroupView]{Items: []model.GroupView{}, NextCursor: mp.NextCursor}
	for _, m := range mp.Items {
		if g, ok := groups[m.GroupID]; ok { // absent: disbanded between the two reads
			out.Items = append(out.Items, g.View(m.Role))
		}
	}
	return out, nil
}

// Search finds groups whose name contains q (1–64 characters; no wildcards), in id
// order, as the current user sees each. Returns ErrInvalid.
func (s *Groups) Search(ctx context.Context, q string, page PageRequest) (Page[model.GroupView], error) {
	q = strings.TrimSpace(q)
	if q == "" || !utf8.ValidString(q) || utf8.RuneCountInString(q) > 64 {
		return Page[model.GroupView]{}, model.FieldErrorf(model.ErrInvalid, "q", "q must be 1 to 64 characters")
	}
	after, limit, err := page.idCursor()
	if err != nil {
		return Page[model.GroupView]{}, err
	}
	db := s.db.WithContext(ctx)
	var groups []model.Group
	if err := db.Where("name LIKE ? ESCAPE '!' AND id > ?", "%"+escapeLike(q)+"%", after).
		Order("id").Limit(limit + 1).Find(&groups).Error; err != nil {
		return Page[model.GroupView]{}, fmt.Errorf("search groups: %w", err)
	}
	gp := pageByID(groups, limit, func(g model.Group) uint64 { return g.ID })
	ids := make([]uint64, len(gp.Items))
	for i := range gp.Items {
		ids[i] = gp.Items[i].ID
	}
	roles := map[uint64]string{}
	if len(ids) > 0 {
		var mine []model.GroupMember
		if err := db.Where("user_id = ? AND group_id IN ?", model.UserID(ctx), ids).Find(&mine).Error; err != nil {
			return Page[model.GroupView]{}, fmt.Errorf("find my roles: %w", err)
		}
		for _, m := range mine {
			roles[m.GroupID] = m.Role
		}
	}
	out := Page[model.GroupView]{Items: make([]model.GroupView, len(gp.Items)), NextCursor: gp.NextCursor}
	for i := range gp.Items {
		out.Items[i] = gp.Items[i].View(roles[gp.Items[i].ID])
	}
	return out, nil
}

// Join adds the current user to group id, or, when the group needs approval, asks
// to join it with message. It returns exactly one of: the group as the new member
// sees it (everyone in the group, the newcomer included, gets group.member_joined),
// or the pending request (the owner and admins get group.join_request; asking again
// while the request is pending updates its message and notifies nobody). Returns
// ErrInvalid, ErrNotFound, or ErrConflict when the user is already a member or the
// group is full.
func (s *Groups) Join(ctx context.Context, id uint64, message string) (*model.GroupView, *model.GroupJoinRequestView, error) {
	msg, err := model.CleanLine(message, "message", model.RequestMessageMaxLen)
	if err != nil {
		return nil, nil, err
	}
	me := model.UserID(ctx)
	var (
		gv  *model.GroupView
		rv  *model.GroupJoinRequestView
		out outbox
	)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out, gv, rv = nil, nil, nil
		g, err := lockGroup(tx, id)
		if err != nil {
			return err
		}
		role, err := roleOf(tx, id, me)
		if err != nil {
			return err
		}
		if role != "" {
			return model.Errorf(model.ErrConflict, "you are already a member of this group")
		}
		u, err := activeUser(tx, me)
		if err != nil {
			return err
		}
		if g.MemberCount >= g.MaxMembers {
			return groupFull(g)
		}
		now := s.now()
		if g.JoinApproval {
			req, notify, err := askToJoin(tx, id, me, msg, now)
			if err != nil {
				return err
			}
			v := requestView(req, u.Public())
			rv = &v
			if notify {
				staff, err := staffIDs(tx, id)
				if err != nil {
					return err
				}
				out.add(staff, model.EventGroupJoinRequest, v)
			}
			return nil
		}
		if err := addMembers(tx, g, []uint64{me}, now); err != nil {
			return err
		}
		all, err := memberIDs(tx, id)
		if err != nil {
			return err
		}
		pub := u.Public()
		out.add(all, model.EventGroupMemberJoined, model.GroupEvent{Group: eventView(g), User: &pub, Role: model.RoleMember})
		v := g.View(model.RoleMember)
		gv = &v
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	out.publish(ctx, s.Notifier)
	return gv, rv, nil
}

// askToJoin stores a pending request of userID to join group groupID, reusing the
// pair's row. notify is false when the request was pending already.
func askToJoin(tx *gorm.DB, groupID, userID uint64, msg string, now time.Time) (req *model.GroupJoinRequest, notify bool, err error) {
	req = &model.GroupJoinRequest{}
	err = tx.Where("group_id = ? AND user_id = ?", groupID, userID).Take(req).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		req = &model.GroupJoinRequest{GroupID: groupID, UserID: userID, Message: msg,
			Status: model.RequestPending, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(req).Error; err != nil {
			return nil, false, fmt.Errorf("insert join request: %w", dbErr(err))
		}
		return req, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("find join request: %w", err)
	}
	notify = req.Status != model.RequestPending
	if notify {
		req.CreatedAt = now // a new request in an old row
	}
	req.Status, req.Message, req.UpdatedAt = model.RequestPending, msg, now
	if err := tx.Model(req).Select("status", "message", "created_at", "updated_at").Updates(req).Error; err != nil {
		return nil, false, fmt.Errorf("renew join request: %w", dbErr(err))
	}
	return req, notify, nil
}

// JoinRequests lists the pending join requests of group id, oldest first; only its
// owner and admins may. Returns ErrInvalid, ErrNotFound or ErrForbidden.
func (s *Groups) JoinRequests(ctx context.Context, id uint64, page PageRequest) (Page[model.GroupJoinRequestView], error) {
	after, limit, err := page.idCursor()
	if err != nil {
		return Page[model.GroupJoinRequestView]{}, err
	}
	db := s.db.WithContext(ctx)
	if _, _, err := findAs(db, id, model.UserID(ctx), "see the join requests of this group", model.RoleOwner, model.RoleAdmin); err != nil {
		return Page[model.GroupJoinRequestView]{}, err
	}
	var rows []model.GroupJoinRequest
	if err := db.Where("group_id = ? AND status = ? AND id > ?", id, model.RequestPending, after).
		Order("id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page[model.GroupJoinRequestView]{}, fmt.Errorf("list join requests: %w", err)
	}
	rp := pageByID(rows, limit, func(r model.GroupJoinRequest) uint64 { return r.ID })
	return mapWithUsers(db, rp, func(r model.GroupJoinRequest) uint64 { return r.UserID },
		func(r model.GroupJoinRequest, u model.PublicUser) model.GroupJoinRequestView {
			return requestView(&r, u)
		})
}

// AcceptJoinRequest accepts the pending request requestID to join group groupID;
// only the owner and admins may. The requester becomes a member (unless they
// already are) and everyone in the group gets group.member_joined (by = the
// acceptor). Returns ErrNotFound, ErrForbidden, or ErrConflict when the request
// was answered already or the group is full (the request stays pending).
func (s *Groups) AcceptJoinRequest(ctx context.Context, groupID, requestID uint64) (*model.GroupJoinRequestView, error) {
	return s.answer(ctx, groupID, requestID, true)
}

// RejectJoinRequest rejects the pending request requestID to join group groupID;
// only the owner and admins may. The requester may ask again. Returns ErrNotFound,
// ErrForbidden, or ErrConflict when the request was answered already.
func (s *Groups) RejectJoinRequest(ctx context.Context, groupID, requestID uint64) (*model.GroupJoinRequestView, error) {
	return s.answer(ctx, groupID, requestID, false)
}

func (s *Groups) answer(ctx context.Context, groupID, requestID uint64, accept bool) (*model.GroupJoinRequestView, error) {
	me := model.UserID(ctx)
	var (
		view model.GroupJoinRequestView
		out  outbox
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = nil
		g, _, err := lockAs(tx, groupID, me, "answer join requests of this group", model.RoleOwner, model.RoleAdmin)
		if err != nil {
			return err
		}
		var req model.GroupJoinRequest
		err = tx.Where("id = ? AND group_id = ?", requestID, groupID).Take(&req).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return model.Errorf(model.ErrNotFound, "no such join request")
		} else if err != nil {
			return fmt.Errorf("find join request: %w", err)
		}
		if req.Status != model.RequestPending {
			return model.Errorf(model.ErrConflict, "this request was %s already", req.Status)
		}
		users, err := publicUsers(tx, me, req.UserID)
		if err != nil {
			return err
		}
		now := s.now()
		req.Status, req.UpdatedAt = model.RequestRejected, now
		if accept {
			req.Status = model.RequestAccepted
			role, err := roleOf(tx, groupID, req.UserID)
			if err != nil {
				return err
			}
			if role == "" {
				if err := addMembers(tx, g, []uint64{req.UserID}, now); err != nil {
					return err
				}
				all, err := memberIDs(tx, groupID)
				if err != nil {
					return err
				}
				out.add(all, model.EventGroupMemberJoined, model.GroupEvent{Group: eventView(g),
					User: userOf(users, req.UserID), By: userOf(users, me), Role: model.RoleMember})
			}
		}
		if err := tx.Model(&req).Select("status", "updated_at").Updates(&req).Error; err != nil {
			return fmt.Errorf("answer join request: %w", dbErr(err))
		}
		view = requestView(&req, users[req.UserID])
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.publish(ctx, s.Notifier)
	return &view, nil
}

// Leave takes the current user out of group id. The remaining members and the one
// who left get group.member_left. Returns ErrNotFound, or ErrForbidden for a
// non-member and for the owner, who transfers the group or disbands it instead.
func (s *Groups) Leave(ctx context.Context, id uint64) error {
	me := model.UserID(ctx)
	var out outbox
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = nil
		g, role, err := lockAs(tx, id, me, "leave this group", model.RoleAdmin, model.RoleMember, model.RoleOwner)
		if err != nil {
			return err
		}
		if role == model.RoleOwner {
			return model.Errorf(model.ErrForbidden, "the owner cannot leave the group: transfer it to another member or disband it first")
		}
		if err := removeMember(tx, g, me); err != nil {
			return err
		}
		return memberLeft(tx, &out, g, me, 0)
	})
	if err != nil {
		return err
	}
	out.publish(ctx, s.Notifier)
	return nil
}

// Members lists the members of group id in user id order; only members may.
// Returns ErrInvalid, ErrNotFound or ErrForbidden.
func (s *Groups) Members(ctx context.Context, id uint64, page PageRequest) (Page[model.MemberView], error) {
	after, limit, err := page.idCursor()
	if err != nil {
		return Page[model.MemberView]{}, err
	}
	db := s.db.WithContext(ctx)
	if _, _, err := findAs(db, id, model.UserID(ctx), "see the members of this group",
		model.RoleOwner, model.RoleAdmin, model.RoleMember); err != nil {
		return Page[model.MemberView]{}, err
	}
	var rows []model.GroupMember
	if err := db.Where("group_id = ? AND user_id > ?", id, after).Order("user_id").
		Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page[model.MemberView]{}, fmt.Errorf("list members: %w", err)
	}
	mp := pageByID(rows, limit, func(m model.GroupMember) uint64 { return m.UserID })
	return mapWithUsers(db, mp, func(m model.GroupMember) uint64 { return m.UserID }, memberView)
}

// Invite adds the current user's friends userIDs to group id; any member may. Users
// who are members already are skipped; the others are returned, and for each one
// everyone in the group gets group.member_joined (by = the inviter). A pending join
// request of an invitee counts as accepted. Returns ErrInvalid, ErrNotFound (the
// group, or an unknown user id), ErrForbidden (not a member, or a user who is not
// the inviter's friend), or ErrConflict when the group would exceed its member
// limit; nobody is added then.
func (s *Groups) Invite(ctx context.Context, id uint64, userIDs []uint64) ([]model.MemberView, error) {
	me := model.UserID(ctx)
	ids, err := cleanUserIDs("user_ids", userIDs, me, true)
	if err != nil {
		return nil, err
	}
	var (
		added []model.MemberView
		out   outbox
	)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out, added = nil, nil
		g, _, err := lockAs(tx, id, me, "invite to this group", model.RoleOwner, model.RoleAdmin, model.RoleMember)
		if err != nil {
			return err
		}
		users, err := knownFriends(tx, me, "user_ids", ids)
		if err != nil {
			return err
		}
		var present []uint64
		if err := tx.Model(&model.GroupMember{}).Where("group_id = ? AND user_id IN ?", id, ids).
			Pluck("user_id", &present).Error; err != nil {
			return fmt.Errorf("find members: %w", err)
		}
		var fresh []uint64
		for _, uid := range ids {
			if !containsID(present, uid) {
				fresh = append(fresh, uid)
			}
		}
		now := s.now()
		if err := addMembers(tx, g, fresh, now); err != nil {
			return err
		}
		all, err := memberIDs(tx, id)
		if err != nil {
			return err
		}
		added = []model.MemberView{}
		for _, uid := range fresh {
			out.add(all, model.EventGroupMemberJoined, model.GroupEvent{Group: eventView(g),
				User: userOf(users, uid), By: userOf(users, me), Role: model.RoleMember})
			added = append(added, model.MemberView{User: users[uid], Role: model.RoleMember, JoinedAt: now})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.publish(ctx, s.Notifier)
	return added, nil
}

// RemoveMember removes userID from group id: the owner removes admins and members,
// an admin removes members only. The remaining members and the removed user get
// group.member_left (by = the remover). Returns ErrNotFound (the group, or userID
// is not a member), ErrForbidden, or ErrInvalid when users name themselves (they
// leave instead).
func (s *Groups) RemoveMember(ctx context.Context, id, userID uint64) error {
	me := model.UserID(ctx)
	var out outbox
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = nil
		g, role, err := lockAs(tx, id, me, "remove members of this group", model.RoleOwner, model.RoleAdmin, model.RoleMember)
		if err != nil {
			return err
		}
		if userID == me {
			return model.Errorf(model.ErrInvalid, "you cannot remove yourself: leave the group instead")
		}
		if role == model.RoleMember {
			return model.Errorf(model.ErrForbidden, "only the owner or an admin may remove members of this group")
		}
		target, err := roleOf(tx, id, userID)
		if err != nil {
			return err
		}
		if target == "" {
			return model.Errorf(model.ErrNotFound, "user %d is not a member of this group", userID)
		}
		if target == model.RoleOwner || (role == model.RoleAdmin && target == model.RoleAdmin) {
			return model.Errorf(model.ErrForbidden, "an admin may remove plain members only, and nobody may remove the owner")
		}
		if err := removeMember(tx, g, userID); err != nil {
			return err
		}
		return memberLeft(tx, &out, g, userID, me)
	})
	if err != nil {
		return err
	}
	out.publish(ctx, s.Notifier)
	return nil
}

// SetRole makes member userID of group id an admin or a plain member; only the
// owner may. When the role changed, every member gets group.updated (user = the
// member, role = the new role). Returns ErrInvalid (another role, or the owner
// naming themselves), ErrNotFound or ErrForbidden.
func (s *Groups) SetRole(ctx context.Context, id, userID uint64, role string) (*model.MemberView, error) {
	if !model.ValidRole(role) {
		return nil, model.FieldErrorf(model.ErrInvalid, "role", "role must be admin or member (ownership moves by transfer)")
	}
	me := model.UserID(ctx)
	var (
		view model.MemberView
		out  outbox
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = nil
		g, _, err := lockAs(tx, id, me, "change roles in this group", model.RoleOwner)
		if err != nil {
			return err
		}
		if userID == me {
			return model.Errorf(model.ErrInvalid, "the owner's role changes only by transferring the group")
		}
		var m model.GroupMember
		err = tx.Where("group_id = ? AND user_id = ?", id, userID).Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return model.Errorf(model.ErrNotFound, "user %d is not a member of this group", userID)
		} else if err != nil {
			return fmt.Errorf("find member: %w", err)
		}
		users, err := publicUsers(tx, me, userID)
		if err != nil {
			return err
		}
		if m.Role != role {
			m.Role = role
			if err := setRole(tx, id, userID, role); err != nil {
				return err
			}
			all, err := memberIDs(tx, id)
			if err != nil {
				return err
			}
			out.add(all, model.EventGroupUpdated, model.GroupEvent{Group: eventView(g),
				User: userOf(users, userID), By: userOf(users, me), Role: role})
		}
		view = memberView(m, users[userID])
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.publish(ctx, s.Notifier)
	return &view, nil
}

// Transfer makes member userID the owner of group id; only the owner may, and
// becomes an admin. Every member gets group.updated (user = the new owner, role
// owner, by = the old owner). Returns ErrInvalid (no user, or the owner naming themselves),
// ErrNotFound (the group, or userID is not a member) or ErrForbidden.
func (s *Groups) Transfer(ctx context.Context, id, userID uint64) (*model.GroupView, error) {
	if userID == 0 {
		return nil, model.FieldErrorf(model.ErrInvalid, "user_id", "user_id must name a member")
	}
	me := model.UserID(ctx)
	var (
		g   *model.Group
		out outbox
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = nil
		var err error
		if g, _, err = lockAs(tx, id, me, "transfer this group", model.RoleOwner); err != nil {
			return err
		}
		if userID == me {
			return model.Errorf(model.ErrInvalid, "you own this group already")
		}
		target, err := roleOf(tx, id, userID)
		if err != nil {
			return err
		}
		if target == "" {
			return model.Errorf(model.ErrNotFound, "user %d is not a member of this group", userID)
		}
		if err := setRole(tx, id, userID, model.RoleOwner); err != nil {
			return err
		}
		if err := setRole(tx, id, me, model.RoleAdmin); err != nil {
			return err
		}
		g.OwnerID, g.UpdatedAt = userID, s.now()
		if err := tx.Model(g).Select("owner_id", "updated_at").Updates(g).Error; err != nil {
			return fmt.Errorf("set owner: %w", dbErr(err))
		}
		users, err := publicUsers(tx, me, userID)
		if err != nil {
			return err
		}
		all, err := memberIDs(tx, id)
		if err != nil {
			return err
		}
		out.add(all, model.EventGroupUpdated, model.GroupEvent{Group: eventView(g),
			User: userOf(users, userID), By: userOf(users, me), Role: model.RoleOwner})
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.publish(ctx, s.Notifier)
	v := g.View(model.RoleAdmin)
	return &v, nil
}

// Disband deletes group id with its members and join requests; only the owner
// may. Every former member gets group.disbanded (group = as it was). Returns
// ErrNotFound or ErrForbidden.
func (s *Groups) Disband(ctx context.Context, id uint64) error {
	me := model.UserID(ctx)
	var out outbox
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		out = nil
		g, _, err := lockAs(tx, id, me, "disband this group", model.RoleOwner)
		if err != nil {
			return err
		}
		all, err := memberIDs(tx, id)
		if err != nil {
			return err
		}
		users, err := publicUsers(tx, me)
		if err != nil {
			return err
		}
		if err := tx.Where("group_id = ?", id).Delete(&model.GroupJoinRequest{}).Error; err != nil {
			return fmt.Errorf("delete join requests: %w", err)
		}
		if err := tx.Where("group_id = ?", id).Delete(&model.GroupMember{}).Error; err != nil {
			return fmt.Errorf("delete members: %w", err)
		}
		if err := tx.Delete(&model.Group{}, id).Error; err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		if g.ConversationID != nil {
			if err := deleteConversation(tx, *g.ConversationID); err != nil {
				return err
			}
		}
		out.add(all, model.EventGroupDisbanded, model.GroupEvent{Group: eventView(g), By: userOf(users, me)})
		return nil
	})
	if err != nil {
		return err
	}
	out.publish(ctx, s.Notifier)
	return nil
}
