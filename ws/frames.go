package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/olahol/melody"

	"lechat/model"
)

// Client → server frame types.
const (
	typeSend   = "message.send"
	typeTyping = "typing"
	typeRead   = "read"
	typePing   = "ping"
	typeAck    = "ack"
	typePong   = "pong"
	typeError  = "error"
	typeReady  = "ready"
)

const maxFrameID = 64

// inFrame is a frame from a client; Data is decoded per type.
type inFrame struct {
	Type string          `json:"type"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
}

// received runs on the socket's read goroutine, one frame at a time: decode,
// one bounded service call, then an answer that echoes the client's id.
func (h *Hub) received(s *melody.Session, msg []byte) {
	c := connOf(s)
	var f inFrame
	err := json.Unmarshal(msg, &f) // on a type error, what was read (the id) stays
	idTooLong := len(f.ID) > maxFrameID
	if idTooLong {
		f.ID = ""
	}
	if c.limiter != nil && !c.limiter.Allow() {
		h.reply(s, f.ID, model.Errorf(model.ErrRateLimited, "too many frames: slow down"))
		return
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err != nil && errors.As(err, &typeErr) && typeErr.Field != "":
		h.reply(s, f.ID, model.FieldErrorf(model.ErrInvalid, typeErr.Field, "%s has the wrong type", typeErr.Field))
		return
	case err != nil:
		h.reply(s, "", model.Errorf(model.ErrInvalid, "a frame is one JSON object {type, id, data}"))
		return
	case idTooLong:
		h.reply(s, "", model.FieldErrorf(model.ErrInvalid, "id", "a frame id is at most %d characters", maxFrameID))
		return
	}
	ctx, cancel := context.WithTimeout(s.Request.Context(), 5*time.Second)
	defer cancel()
	ctx = model.WithSocketID(model.WithTokenID(model.WithUserID(ctx, c.userID), c.tokenID), c.id)

	switch f.Type {
	case typePing:
		h.write(s, frame{Type: typePong, ID: f.ID, Data: struct{}{}})
	case typeSend:
		var in model.NewMessage
		if err := decodeData(f.Data, &in); err != nil {
			h.reply(s, f.ID, err)
			return
		}
		m, dup, err := h.chat.Send(ctx, in)
		if err != nil {
			h.met.Sent.WithLabelValues("error").Inc()
			h.reply(s, f.ID, err)
			return
		}
		if dup {
			h.met.Sent.WithLabelValues("duplicate").Inc()
		} else {
			h.met.Sent.WithLabelValues("stored").Inc()
		}
		h.write(s, frame{Type: typeAck, ID: f.ID, Data: model.MessageEvent{Message: m}})
	case typeTyping:
		var in struct {
			ConversationID uint64 `json:"conversation_id"`
		}
		if err := decodeData(f.Data, &in); err != nil {
			h.reply(s, f.ID, err)
			return
		}
		if err := h.chat.Typing(ctx, in.ConversationID); err != nil {
			h.reply(s, f.ID, err)
		}
	case typeRead:
		var in struct {
			ConversationID uint64 `json:"conversation_id"`
			Seq            uint64 `json:"seq"`
		}
		if err := decodeData(f.Data, &in); err != nil {
			h.reply(s, f.ID, err)
			return
		}
		if err := h.chat.MarkRead(ctx, in.ConversationID, in.Seq); err != nil {
			h.reply(s, f.ID, err)
		}
	case "":
		h.reply(s, f.ID, model.FieldErrorf(model.ErrInvalid, "type", "the frame has no type"))
	default:
		h.reply(s, f.ID, model.FieldErrorf(model.ErrInvalid, "type", "unknown frame type %q", model.TruncateText(f.Type, 40)))
	}
}

// receivedBinary answers a binary frame: the protocol is text frames of JSON.
func (h *Hub) receivedBinary(s *melody.Session, _ []byte) {
	c := connOf(s)
	if c.limiter != nil && !c.limiter.Allow() {
		h.reply(s, "", model.Errorf(model.ErrRateLimited, "too many frames: slow down"))
		return
	}
	h.reply(s, "", model.Errorf(model.ErrInvalid, "binary frames are not part of the protocol: send text frames of JSON"))
}

// decodeData reads a frame's data object into dst. Returns ErrInvalid.
func decodeData(data json.RawMessage, dst any) error {
	if len(bytes.TrimSpace(data)) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return model.FieldErrorf(model.ErrInvalid, "data", "the frame has no data")
	}
	if err := json.Unmarshal(data, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return model.FieldErrorf(model.ErrInvalid, typeErr.Field, "%s has the wrong type", typeErr.Field)
		}
		return model.FieldErrorf(model.ErrInvalid, "data", "data must be a JSON object of the frame's fields")
	}
	return nil
}

// errorData is the data of an error frame.
type errorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// reply sends err as an error frame echoing id. Internal errors are logged here,
// once, and the client sees only "internal error".
func (h *Hub) reply(s *melody.Session, id string, err error) {
	code := model.Code(err)
	if code == "internal" {
		h.log.Error("frame failed", "user_id", connOf(s).userID, "err", err)
		if errors.Is(err, context.DeadlineExceeded) {
			code, err = "unavailable", model.Errorf(model.ErrUnavailable, "the server is busy: try again")
		}
	}
	h.write(s, frame{Type: typeError, ID: id, Data: errorData{Code: code, Message: model.ErrorMessage(err), Field: model.Field(err)}})
}

func (h *Hub) write(s *melody.Session, f frame) {
	b, err := json.Marshal(f)
	if err != nil {
		h.log.Error("encode frame", "type", f.Type, "err", err)
		return
	}
	s.Write(b)
}
