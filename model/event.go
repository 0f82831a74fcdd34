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
