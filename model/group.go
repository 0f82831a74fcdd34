package model

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Roles in a group. A group has exactly one owner.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Limits of groups, in characters (code points) unless said otherwise.
const (
	GroupNameMaxLen        = 32
	GroupNoticeMaxLen      = 500
	DefaultGroupMaxMembers = 500
	GroupInviteMax         = 100 // user ids in one create or invite request
)

// Group is a group chat's settings. MemberCount always equals the number of its
// GroupMember rows: both change in the same transaction, under the group's row
// lock. ConversationID is the group's conversation, made with the group.
type Group struct {
	ID             uint64 `gorm:"primaryKey"`
	Name           string
	Notice         string
	AvatarURL      string
	OwnerID        uint64
	JoinApproval   bool // joining takes a request that the owner or an admin accepts
	MaxMembers     int
	MemberCount    int
	ConversationID *uint64
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// GroupMember is one user's membership of a group.
type GroupMember struct {
	GroupID  uint64 `gorm:"primaryKey;autoIncrement:false"`
	UserID   uint64 `gorm:"primaryKey;autoIncrement:false"`
	Role     string
	JoinedAt time.Time
}

// GroupJoinRequest is a user asking to join a group that needs approval. There is
// at most one row per (GroupID, UserID): asking again reuses it. Status is one of
// RequestPending, RequestAccepted, RequestRejected.
type GroupJoinRequest struct {
	ID        uint64 `gorm:"primaryKey"`
	GroupID   uint64
	UserID    uint64
	Message   string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// GroupView is a group as the API shows it to one user. MyRole is that user's
// role, "" for an outsider; outsiders see neither the notice nor the conversation.
type GroupView struct {
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

// View returns g as seen by a user whose role in it is myRole ("" for an outsider).
func (g *Group) View(myRole string) GroupView {
	v := GroupView{ID: g.ID, Name: g.Name, Notice: g.Notice, AvatarURL: g.AvatarURL,
		OwnerID: g.OwnerID, JoinApproval: g.JoinApproval, MemberCount: g.MemberCount,
		MaxMembers: g.MaxMembers, ConversationID: g.ConversationID, CreatedAt: g.CreatedAt.UTC(),
		MyRole: myRole}
	if myRole == "" {
		v.Notice = ""
		v.ConversationID = nil
	}
	return v
}

// MemberView is one entry of a group's member list.
type MemberView struct {
	User     PublicUser `json:"user"`
	Role     string     `json:"role"`
	JoinedAt time.Time  `json:"joined_at"`
}

// GroupJoinRequestView is a join request as the API shows it.
type GroupJoinRequestView struct {
	ID        uint64     `json:"id"`
	GroupID   uint64     `json:"group_id"`
	User      PublicUser `json:"user"`
	Message   string     `json:"message"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
}

// GroupEvent is the data of the group.* events. Group is the group after the
// change (before it, for group.disbanded), with MyRole "" since every recipient
// gets the same bytes. User is the member the change is about, By who made it when
// that is someone else, Role the role User has now (for role changes and joins).
type GroupEvent struct {
	Group GroupView   `json:"group"`
	User  *PublicUser `json:"user,omitempty"`
	By    *PublicUser `json:"by,omitempty"`
	Role  string      `json:"role,omitempty"`
}

// CleanGroupName trims a group name and checks it is 1–32 characters on one line.
// Returns ErrInvalid with field "name".
func CleanGroupName(s string) (string, error) {
	s, err := CleanLine(s, "name", GroupNameMaxLen)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", FieldErrorf(ErrInvalid, "name", "name must not be empty")
	}
	return s, nil
}

// CleanNotice trims a group notice and checks it is valid UTF-8 of at most 500
// characters. Unlike a line it may hold line breaks ("\r\n" becomes "\n"), but no
// other control or bidi-override characters. Returns ErrInvalid with field "notice".
func CleanNotice(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", FieldErrorf(ErrInvalid, "notice", "notice is not valid UTF-8")
	}
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if n := utf8.RuneCountInString(s); n > GroupNoticeMaxLen {
		return "", FieldErrorf(ErrInvalid, "notice", "notice must be at most %d characters", GroupNoticeMaxLen)
	}
	for _, r := range s {
		if r == '\n' {
			continue
		}
		if unicode.IsControl(r) || isBidiControl(r) || r == '\u2028' || r == '\u2029' {
			return "", FieldErrorf(ErrInvalid, "notice", "notice must not contain control characters other than line breaks")
		}
	}
	return s, nil
}

// ValidRole reports whether role is one SetRole may give: admin or member.
func ValidRole(role string) bool { return role == RoleAdmin || role == RoleMember }

// GroupPatch holds the fields of PATCH /groups/:id; nil means unchanged.
type GroupPatch struct {
	Name         *string `json:"name"`
	Notice       *string `json:"notice"`
	AvatarURL    *string `json:"avatar_url"`
	JoinApproval *bool   `json:"join_approval"`
}

// Apply validates p and writes its fields into g. It reports whether anything
// changed. Returns ErrInvalid; g is left unchanged on error.
func (p GroupPatch) Apply(g *Group) (changed bool, err error) {
	next := *g
	if p.Name != nil {
		if next.Name, err = CleanGroupName(*p.Name); err != nil {
			return false, err
		}
	}
	if p.Notice != nil {
		if next.Notice, err = CleanNotice(*p.Notice); err != nil {
			return false, err
		}
	}
	if p.AvatarURL != nil {
		if next.AvatarURL, err = ValidateImageURL("avatar_url", *p.AvatarURL); err != nil {
			return false, err
		}
	}
	if p.JoinApproval != nil {
		next.JoinApproval = *p.JoinApproval
	}
	changed = next.Name != g.Name || next.Notice != g.Notice || next.AvatarURL != g.AvatarURL ||
		next.JoinApproval != g.JoinApproval
	*g = next
	return changed, nil
}
