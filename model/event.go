package model

// Event is something a user should learn of as it happens. The service layer
// publishes events after commit; the WebSocket hub delivers each as a frame
// {"type": Type, "data": Data} to every socket of every recipient.
type Event struct {
	Type string
	Data any
}

// Event types (frame types of the WebSocket contract).
const (
	EventFriendRequest  = "friend.request"  // data: FriendRequestView
	EventFriendAccepted = "friend.accepted" // data: FriendEvent (user = the new friend)
	EventFriendRemoved  = "friend.removed"  // data: FriendEvent (user = the other side)

	EventGroupUpdated      = "group.updated"       // data: GroupEvent
	EventGroupMemberJoined = "group.member_joined" // data: GroupEvent (user = who joined)
	EventGroupMemberLeft   = "group.member_left"   // data: GroupEvent (user = who left or was removed)
	EventGroupDisbanded    = "group.disbanded"     // data: GroupEvent
	EventGroupJoinRequest  = "group.join_request"  // data: GroupJoinRequestView, to owner and admins
)

// EventSessionRevoked is internal: it tells the hub to close the sockets of
// revoked tokens. It is never sent to a client as a frame.
const EventSessionRevoked = "session.revoked" // data: RevokedTokens

// RevokedTokens names the tokens of one user that no longer work: those listed,
// or when AllBut is set, every token of the user but that one.
type RevokedTokens struct {
	TokenIDs []string
	AllBut   string
}
