package model

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Conversation types.
const (
	ConversationPrivate = "private"
	ConversationGroup   = "group"
)

// Message kinds.
const (
	KindText  = "text"
	KindEmoji = "emoji"
	KindImage = "image"
)

// Message limits.
const (
	MaxTextLen        = 4000 // characters of a text message
	MaxEmojiLen       = 64   // bytes of an emoji message
	MaxClientMsgIDLen = 64
	MaxImageURLLen    = 512
	MaxImageSide      = 20000
)

// Conversation is where messages go: between two users (private) or in a group.
// LastSeq is the seq of its newest message; seqs start at 1 and have no gaps.
// UserLow/UserHigh identify a private pair (the smaller id first); GroupID a group.
type Conversation struct {
	ID            uint64 `gorm:"primaryKey"`
	Type          string
	GroupID       *uint64
	UserLow       *uint64
	UserHigh      *uint64
	LastSeq       uint64
	LastMessageAt *time.Time
	CreatedAt     time.Time
}

// ConversationMember is a user's place in a conversation: what they have read,
// and the seq it stood at when they joined (they see only later messages).
type ConversationMember struct {
	ConversationID uint64 `gorm:"primaryKey;autoIncrement:false"`
	UserID         uint64 `gorm:"primaryKey;autoIncrement:false"`
	ReadSeq        uint64
	JoinedSeq      uint64
	CreatedAt      time.Time
}

// Message is one stored message. Content is the text or emoji itself, or for an
// image the JSON object of an ImageContent.
type Message struct {
	ID             uint64
	ConversationID uint64
	Seq            uint64
	SenderID       uint64
	Kind           string
	Content        string
	ClientMsgID    string
	CreatedAt      time.Time
}

// messageJSON is a message on the wire: content is a string, or an object for images.
type messageJSON struct {
	ID             uint64          `json:"id"`
	ConversationID uint64          `json:"conversation_id"`
	Seq            uint64          `json:"seq"`
	SenderID       uint64          `json:"sender_id"`
	Kind           string          `json:"kind"`
	Content        json.RawMessage `json:"content"`
	ClientMsgID    string          `json:"client_msg_id"`
	CreatedAt      time.Time       `json:"created_at"`
}

// MarshalJSON writes the message of the API contract.
func (m Message) MarshalJSON() ([]byte, error) {
	content := json.RawMessage(m.Content)
	if m.Kind != KindImage || !json.Valid(content) {
		b, err := json.Marshal(m.Content)
		if err != nil {
			return nil, err
		}
		content = b
	}
	return json.Marshal(messageJSON{ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq,
		SenderID: m.SenderID, Kind: m.Kind, Content: content, ClientMsgID: m.ClientMsgID,
		CreatedAt: m.CreatedAt.UTC()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Message) UnmarshalJSON(b []byte) error {
	var j messageJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Message{ID: j.ID, ConversationID: j.ConversationID, Seq: j.Seq, SenderID: j.SenderID,
		Kind: j.Kind, ClientMsgID: j.ClientMsgID, CreatedAt: j.CreatedAt}
	if j.Kind == KindImage {
		m.Content = string(j.Content)
		return nil
	}
	return json.Unmarshal(j.Content, &m.Content)
}

// ImageContent is the content of an image message, as the upload route returns it.
type ImageContent struct {
	URL      string `json:"url"`
	ThumbURL string `json:"thumb_url"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// NewMessage is what a client sends: message.send's data.
type NewMessage struct {
	ConversationID uint64          `json:"conversation_id"`
	ClientMsgID    string          `json:"client_msg_id"`
	Kind           string          `json:"kind"`
	Content        json.RawMessage `json:"content"`
}

// Normalize checks a new message and returns its content as stored. Returns
// ErrInvalid with the field at fault.
func (in NewMessage) Normalize() (string, error) {
	if in.ConversationID == 0 {
		return "", FieldErrorf(ErrInvalid, "conversation_id", "conversation_id is required")
	}
	if err := ValidateClientMsgID(in.ClientMsgID); err != nil {
		return "", err
	}
	if len(in.Content) == 0 || string(in.Content) == "null" {
		return "", FieldErrorf(ErrInvalid, "content", "content is required")
	}
	switch in.Kind {
	case KindText:
		var s string
		if err := json.Unmarshal(in.Content, &s); err != nil {
			return "", FieldErrorf(ErrInvalid, "content", "the content of a text message is a string")
		}
		return s, ValidateText(s)
	case KindEmoji:
		var s string
		if err := json.Unmarshal(in.Content, &s); err != nil {
			return "", FieldErrorf(ErrInvalid, "content", "the content of an emoji message is a string")
		}
		return s, ValidateEmoji(s)
	case KindImage:
		var img ImageContent
		dec := json.NewDecoder(strings.NewReader(string(in.Content)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&img); err != nil {
			return "", FieldErrorf(ErrInvalid, "content", "the content of an image message is {url, thumb_url, width, height}")
		}
		if err := img.Validate(); err != nil {
			return "", err
		}
		b, _ := json.Marshal(img)
		return string(b), nil
	case "":
		return "", FieldErrorf(ErrInvalid, "kind", "kind is required")
	}
	return "", FieldErrorf(ErrInvalid, "kind", "kind must be text, emoji or image")
}

// ValidateClientMsgID checks the id a client gives a message: 1–64 printable ASCII.
func ValidateClientMsgID(id string) error {
	if id == "" || len(id) > MaxClientMsgIDLen {
		return FieldErrorf(ErrInvalid, "client_msg_id", "client_msg_id must be 1 to %d characters", MaxClientMsgIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return FieldErrorf(ErrInvalid, "client_msg_id", "client_msg_id must be printable ASCII")
		}
	}
	return nil
}

// ValidateText checks a text message: valid UTF-8, not blank, at most MaxTextLen
// characters, no control characters but newline and tab.
func ValidateText(s string) error {
	if !utf8.ValidString(s) {
		return FieldErrorf(ErrInvalid, "content", "the text is not valid UTF-8")
	}
	if strings.TrimSpace(s) == "" {
		return FieldErrorf(ErrInvalid, "content", "the text is empty")
	}
	if utf8.RuneCountInString(s) > MaxTextLen {
		return FieldErrorf(ErrInvalid, "content", "the text is longer than %d characters", MaxTextLen)
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return FieldErrorf(ErrInvalid, "content", "the text contains control characters")
		}
	}
	return nil
}

// ValidateEmoji checks an emoji message: one emoji (any sequence of emoji code
// points, joiners, selectors, modifiers and tags — at most 10 pictographs, as in
// a family or a flag), or a built-in sticker "sticker:<name>" (see Stickers).
func ValidateEmoji(s string) error {
	bad := FieldErrorf(ErrInvalid, "content", "an emoji message is one emoji or a sticker")
	if s == "" || len(s) > MaxEmojiLen || !utf8.ValidString(s) {
		return bad
	}
	if name, ok := strings.CutPrefix(s, "sticker:"); ok {
		if !IsSticker(name) {
			return FieldErrorf(ErrInvalid, "content", "there is no sticker %q", TruncateText(name, 32))
		}
		return nil
	}
	pictographs, keycapBases, keycaps := 0, 0, 0
	for _, r := range s {
		switch {
		case r == '\u20e3':
			keycaps++
		case r == '\u200d', r == '\ufe0f', r == '\ufe0e',
			r >= 0x1F3FB && r <= 0x1F3FF, // skin tones
			r >= 0xE0020 && r <= 0xE007F: // tags (subdivision flags)
		case isEmojiRune(r):
			pictographs++
		case r >= '0' && r <= '9' || r == '#' || r == '*': // only as a keycap: 1️⃣
			keycapBases++
		default:
			return bad
		}
	}
	if keycapBases != keycaps || pictographs+keycaps == 0 || pictographs+keycaps > 10 {
		return bad
	}
	return nil
}

// isEmojiRune reports code points in the blocks where emoji live.
func isEmojiRune(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF, // mahjong … symbols and pictographs extended-A
		r >= 0x2600 && r <= 0x27BF,   // miscellaneous symbols, dingbats
		r >= 0x2300 && r <= 0x23FF,   // technical (⌚ ⏰)
		r >= 0x2B00 && r <= 0x2BFF,   // arrows (⬆ ⭐)
		r >= 0x1F1E6 && r <= 0x1F1FF, // regional indicators (flags)
		r == 0x00A9 || r == 0x00AE || r == 0x203C || r == 0x2049 || r == 0x2122 || r == 0x2139,
		r >= 0x2194 && r <= 0x21AA,
		r == 0x24C2 || r == 0x25AA || r == 0x25AB || r == 0x25B6 || r == 0x25C0,
		r >= 0x25FB && r <= 0x25FE,
		r == 0x2934 || r == 0x2935 || r == 0x3030 || r == 0x303D || r == 0x3297 || r == 0x3299:
		return true
	}
	return false
}

// Validate checks an image's content: URLs on this server, sane dimensions.
func (img ImageContent) Validate() error {
	for field, u := range map[string]string{"url": img.URL, "thumb_url": img.ThumbURL} {
		if u == "" || len(u) > MaxImageURLLen || !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") ||
			strings.ContainsAny(u, " \t\r\n\\\"'<>") {
			return FieldErrorf(ErrInvalid, "content", "image %s must be a path on this server", field)
		}
	}
	if img.Width < 1 || img.Height < 1 || img.Width > MaxImageSide || img.Height > MaxImageSide {
		return FieldErrorf(ErrInvalid, "content", "image width and height must be 1 to %d", MaxImageSide)
	}
	return nil
}

// ConversationView is one entry of GET /conversations, as one member sees it.
type ConversationView struct {
	ID          uint64       `json:"id"`
	Type        string       `json:"type"`
	Peer        *UserProfile `json:"peer,omitempty"`
	Group       *GroupBrief  `json:"group,omitempty"`
	LastMessage *Message     `json:"last_message"`
	LastSeq     uint64       `json:"last_seq"`
	ReadSeq     uint64       `json:"read_seq"`
	Unread      uint64       `json:"unread"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// GroupBrief names a group in a conversation list.
type GroupBrief struct {
	ID          uint64 `json:"id"`
	Name        string `json:"name"`
	AvatarURL   string `json:"avatar_url"`
	MemberCount int    `json:"member_count"`
}

// Socket is one live WebSocket connection, as recorded in the socket table.
type Socket struct {
	ID          string `gorm:"primaryKey"`
	UserID      uint64
	NodeID      string
	TokenID     string
	ConnectedAt time.Time
	LastSeen    time.Time
}

// Real-time event types that are not about the social graph.
const (
	EventMessageNew = "message.new" // data: {message}
	EventTyping     = "typing"      // data: TypingEvent
	EventRead       = "read"        // data: ReadEvent
	EventPresence   = "presence"    // data: PresenceEvent
)

// MessageEvent is the data of message.new and of an ack.
type MessageEvent struct {
	Message *Message `json:"message"`
}

// TypingEvent is the data of a typing frame.
type TypingEvent struct {
	ConversationID uint64 `json:"conversation_id"`
	UserID         uint64 `json:"user_id"`
}

// ReadEvent is the data of a read receipt.
type ReadEvent struct {
	ConversationID uint64 `json:"conversation_id"`
	UserID         uint64 `json:"user_id"`
	Seq            uint64 `json:"seq"`
}

// PresenceEvent is the data of a presence frame.
type PresenceEvent struct {
	UserID uint64 `json:"user_id"`
	Online bool   `json:"online"`
}

// TruncateText cuts s to at most n bytes on a character boundary, marking the cut
// with "…": for quoting client input in error messages.
func TruncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
