package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"lechat/model"
)

// Helpers of the groups service. Each takes the transaction (or handle) it runs in.

// lockGroup loads group id holding its row lock, which serializes every change of
// the group and its members. It must be the first statement of its transaction:
// InnoDB fixes the snapshot of later plain reads at the first plain read, so reads
// after the lock see every change committed before it. Returns ErrNotFound.
func lockGroup(tx *gorm.DB, id uint64) (*model.Group, error) {
	var g model.Group
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, model.Errorf(model.ErrNotFound, "no such group")
	} else if err != nil {
		return nil, fmt.Errorf("lock group: %w", err)
	}
	return &g, nil
}

// findGroup loads group id without a lock. Returns ErrNotFound.
func findGroup(db *gorm.DB, id uint64) (*model.Group, error) {
	var g model.Group
	err := db.Where("id = ?", id).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, model.Errorf(model.ErrNotFound, "no such group")
	} else if err != nil {
		return nil, fmt.Errorf("load group: %w", err)
	}
	return &g, nil
}

// lockAs locks group id (see lockGroup) and checks that userID has one of the
// allowed roles in it, what naming the action for the error. Returns the group and
// the user's role, or ErrNotFound or ErrForbidden.
func lockAs(tx *gorm.DB, id, userID uint64, what string, allowed ...string) (*model.Group, string, error) {
	g, err := lockGroup(tx, id)
	if err != nil {
		return nil, "", err
	}
	role, err := requireRole(tx, id, userID, what, allowed)
	return g, role, err
}

// findAs is lockAs without the lock, for reads.
func findAs(db *gorm.DB, id, userID uint64, what string, allowed ...string) (*model.Group, string, error) {
	g, err := findGroup(db, id)
	if err != nil {
		return nil, "", err
	}
	role, err := requireRole(db, id, userID, what, allowed)
	return g, role, err
}

func requireRole(tx *gorm.DB, id, userID uint64, what string, allowed []string) (string, error) {
	role, err := roleOf(tx, id, userID)
	if err != nil {
		return "", err
	}
	switch {
	case role == "":
		return "", model.Errorf(model.ErrForbidden, "you are not a member of this group")
	case slices.Contains(allowed, role):
		return role, nil
	case slices.Contains(allowed, model.RoleAdmin):
		return "", model.Errorf(model.ErrForbidden, "only the owner or an admin may %s", what)
	}
	return "", model.Errorf(model.ErrForbidden, "only the owner may %s", what)
}

// roleOf returns userID's role in group groupID, or "" when not a member.
func roleOf(tx *gorm.DB, groupID, userID uint64) (string, error) {
	var roles []string
	if err := tx.Model(&model.GroupMember{}).Where("group_id = ? AND user_id = ?", groupID, userID).
		Limit(1).Pluck("role", &roles).Error; err != nil {
		return "", fmt.Errorf("find role: %w", err)
	}
	if len(roles) == 0 {
		return "", nil
	}
	return roles[0], nil
}

// setRole gives member userID of group groupID role.
func setRole(tx *gorm.DB, groupID, userID uint64, role string) error {
	if err := tx.Model(&model.GroupMember{}).Where("group_id = ? AND user_id = ?", groupID, userID).
		Update("role", role).Error; err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return nil
}

// memberIDs returns the ids of the members of group groupID, in id order.
func memberIDs(tx *gorm.DB, groupID uint64) ([]uint64, error) {
	var ids []uint64
	if err := tx.Model(&model.GroupMember{}).Where("group_id = ?", groupID).Order("user_id").
		Pluck("user_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return ids, nil
}

// staffIDs returns the ids of the owner and admins of group groupID.
func staffIDs(tx *gorm.DB, groupID uint64) ([]uint64, error) {
	var ids []uint64
	if err := tx.Model(&model.GroupMember{}).Where("group_id = ? AND role IN ?", groupID,
		[]string{model.RoleOwner, model.RoleAdmin}).Order("user_id").Pluck("user_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return ids, nil
}

// groupsByID loads the given groups, keyed by id.
func groupsByID(db *gorm.DB, ids []uint64) (map[uint64]*model.Group, error) {
	out := make(map[uint64]*model.Group, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var groups []model.Group
	if err := db.Where("id IN ?", ids).Find(&groups).Error; err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	for i := range groups {
		out[groups[i].ID] = &groups[i]
	}
	return out, nil
}

// groupFull is the error of a change that would take g over its member limit.
func groupFull(g *model.Group) error {
	return model.Errorf(model.ErrConflict, "this group is full: it may have at most %d members", g.MaxMembers)
}

// addMembers adds users ids as plain members of g (locked by the caller), keeping
// member_count (and g.MemberCount) right, and marks their pending join requests
// accepted. Returns ErrConflict when g would exceed its limit.
func addMembers(tx *gorm.DB, g *model.Group, ids []uint64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if g.MemberCount+len(ids) > g.MaxMembers {
		return groupFull(g)
	}
	rows := make([]model.GroupMember, len(ids))
	for i, id := range ids {
		rows[i] = model.GroupMember{GroupID: g.ID, UserID: id, Role: model.RoleMember, JoinedAt: now}
	}
	if err := tx.Create(&rows).Error; err != nil {
		return fmt.Errorf("insert members: %w", dbErr(err))
	}
	if err := setMemberCount(tx, g, g.MemberCount+len(ids)); err != nil {
		return err
	}
	if g.ConversationID != nil {
		if err := joinGroupConversation(tx, *g.ConversationID, now, ids...); err != nil {
			return err
		}
	}
	if err := tx.Model(&model.GroupJoinRequest{}).
		Where("group_id = ? AND user_id IN ? AND status = ?", g.ID, ids, model.RequestPending).
		Updates(map[string]any{"status": model.RequestAccepted, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("settle join requests: %w", err)
	}
	return nil
}

// removeMember deletes the membership of userID in g (locked by the caller),
// keeping member_count right.
func removeMember(tx *gorm.DB, g *model.Group, userID uint64) error {
	res := tx.Where("group_id = ? AND user_id = ?", g.ID, userID).Delete(&model.GroupMember{})
	if res.Error != nil {
		return fmt.Errorf("delete member: %w", res.Error)
	}
	if g.ConversationID != nil {
		if err := leaveConversation(tx, *g.ConversationID, userID); err != nil {
			return err
		}
	}
	return setMemberCount(tx, g, g.MemberCount-int(res.RowsAffected))
}

func setMemberCount(tx *gorm.DB, g *model.Group, n int) error {
	if err := tx.Model(&model.Group{}).Where("id = ?", g.ID).UpdateColumn("member_count", n).Error; err != nil {
		return fmt.Errorf("count members: %w", err)
	}
	g.MemberCount = n
	return nil
}

// memberLeft queues group.member_left about userID (removed by by, or 0 when they
// left) for the remaining members of g and userID.
func memberLeft(tx *gorm.DB, out *outbox, g *model.Group, userID, by uint64) error {
	to, err := memberIDs(tx, g.ID)
	if err != nil {
		return err
	}
	users, err := publicUsers(tx, userID, by)
	if err != nil {
		return err
	}
	ev := model.GroupEvent{Group: eventView(g), User: userOf(users, userID)}
	if by != 0 {
		ev.By = userOf(users, by)
	}
	out.add(append(to, userID), model.EventGroupMemberLeft, ev)
	return nil
}

// cleanUserIDs checks a list of user ids from a request: at most
// model.GroupInviteMax, none zero. It returns them sorted without duplicates and
// without self. required says the list may not be empty. Returns ErrInvalid.
func cleanUserIDs(field string, ids []uint64, self uint64, required bool) ([]uint64, error) {
	if len(ids) > model.GroupInviteMax {
		return nil, model.FieldErrorf(model.ErrInvalid, field, "%s may name at most %d users", field, model.GroupInviteMax)
	}
	if required && len(ids) == 0 {
		return nil, model.FieldErrorf(model.ErrInvalid, field, "%s must name at least one user", field)
	}
	out := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if id == 0 {
			return nil, model.FieldErrorf(model.ErrInvalid, field, "%s must hold user ids", field)
		}
		if id != self {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// knownFriends loads the public views of userID and ids and checks every one of
// ids is userID's friend. Returns ErrNotFound for an unknown id, ErrForbidden for
// a stranger, each with field.
func knownFriends(tx *gorm.DB, userID uint64, field string, ids []uint64) (map[uint64]model.PublicUser, error) {
	users, err := publicUsers(tx, append([]uint64{userID}, ids...)...)
	if err != nil {
		return nil, err
	}
	var unknown []string
	for _, id := range ids {
		if _, ok := users[id]; !ok {
			unknown = append(unknown, fmt.Sprint(id))
		}
	}
	if len(unknown) > 0 {
		return nil, model.FieldErrorf(model.ErrNotFound, field, "no such user: %s", strings.Join(unknown, ", "))
	}
	strangers, err := notFriends(tx, userID, ids)
	if err != nil {
		return nil, err
	}
	if len(strangers) > 0 {
		s := make([]string, len(strangers))
		for i, id := range strangers {
			s[i] = fmt.Sprint(id)
		}
		return nil, model.FieldErrorf(model.ErrForbidden, field, "you can only add your friends; not your friends: %s", strings.Join(s, ", "))
	}
	return users, nil
}

func containsID(ids []uint64, id uint64) bool { return slices.Contains(ids, id) }

// eventView is g as every recipient of an event sees it: a member's view without
// a role of its own.
func eventView(g *model.Group) model.GroupView {
	v := g.View(model.RoleMember)
	v.MyRole = ""
	return v
}

func userOf(users map[uint64]model.PublicUser, id uint64) *model.PublicUser {
	u, ok := users[id]
	if !ok {
		return nil
	}
	return &u
}

func memberView(m model.GroupMember, u model.PublicUser) model.MemberView {
	return model.MemberView{User: u, Role: m.Role, JoinedAt: m.JoinedAt.UTC()}
}

func requestView(r *model.GroupJoinRequest, u model.PublicUser) model.GroupJoinRequestView {
	return model.GroupJoinRequestView{ID: r.ID, GroupID: r.GroupID, User: u, Message: r.Message,
		Status: r.Status, CreatedAt: r.CreatedAt.UTC()}
}

// outbox holds the events of a transaction, with their recipients, until it commits.
type outbox []addressed

type addressed struct {
	to []uint64
	ev model.Event
}

func (o *outbox) add(to []uint64, typ string, data any) {
	*o = append(*o, addressed{to: slices.Clone(to), ev: model.Event{Type: typ, Data: data}})
}

// publish hands the queued events to n; call it after commit only.
func (o outbox) publish(ctx context.Context, n Notifier) {
	for _, a := range o {
		n.Publish(ctx, a.to, a.ev)
	}
}
