package model

import "time"

// Friend request states.
const (
	RequestPending  = "pending"
	RequestAccepted = "accepted"
	RequestRejected = "rejected"
)

// Limits of the social graph, in characters.
const (
	RequestMessageMaxLen = 100
	RemarkMaxLen         = 32
)

// FriendRequest is one user asking another to be friends. There is at most one row
// per ordered pair (FromUserID, ToUserID): asking again reuses it.
type FriendRequest struct {
	ID         uint64 `gorm:"primaryKey"`
	FromUserID uint64
	ToUserID   uint64
	Message    string
	Status     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Friendship is one direction of a friendship: UserID's view of FriendID, with
// UserID's private remark. A friendship is always stored as both directions.
type Friendship struct {
	UserID    uint64 `gorm:"primaryKey;autoIncrement:false"`
	FriendID  uint64 `gorm:"primaryKey;autoIncrement:false"`
	Remark    string
	CreatedAt time.Time
}

// FriendRequestView is a request as the API shows it.
type FriendRequestView struct {
	ID        uint64     `json:"id"`
	FromUser  PublicUser `json:"from_user"`
	ToUser    PublicUser `json:"to_user"`
	Message   string     `json:"message"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
}

// FriendView is one entry of a friend list.
type FriendView struct {
	User   PublicUser `json:"user"`
	Remark string     `json:"remark"`
	Online bool       `json:"online"`
	Since  time.Time  `json:"since"`
}

// FriendEvent is the data of friend.accepted and friend.removed: the other side.
type FriendEvent struct {
	User PublicUser `json:"user"`
}
