package main

import (
	"errors"
	"strconv"
)

// The bench speaks the socket protocol of API.md with hand-written encoding and
// a small scanner instead of encoding/json: the tool shares two cores with the
// server, and tens of thousands of frames a second through reflection would
// take CPU from what is being measured. The scanner is a real (if minimal)
// JSON walker, so field order and unknown fields do not matter.

// frame is what the bench needs of one server frame. Byte slices point into the
// buffer the frame was read into and are valid until the next read.
type frame struct {
	typ     []byte
	id      []byte // the frame id echoed by ack, error and pong
	code    []byte // error frames: data.code
	msgID   uint64 // message frames: data.message.id
	conv    uint64 // data.message.conversation_id
	seq     uint64 // data.message.seq
	content []byte // data.message.content, raw (still JSON-escaped)
	escaped bool   // content holds escapes
	hasMsg  bool
}

var errSyntax = errors.New("malformed frame")

// parseFrame fills f from one server frame.
func parseFrame(b []byte, f *frame) error {
	*f = frame{}
	i := skipWS(b, 0)
	_, err := scanObject(b, i, func(key, val []byte) error {
		switch string(key) {
		case "type":
			s, _, err := rawString(val)
			f.typ = s
			return err
		case "id":
			if len(val) > 0 && val[0] == '"' {
				s, _, err := rawString(val)
				f.id = s
				return err
			}
			f.id = val
		case "data":
			if len(val) == 0 || val[0] != '{' {
				return nil
			}
			_, err := scanObject(val, 0, func(key, val []byte) error {
				switch string(key) {
				case "code":
					s, _, err := rawString(val)
					f.code = s
					return err
				case "message":
					if len(val) == 0 || val[0] != '{' {
						return nil // an error frame's message is a string
					}
					f.hasMsg = true
					_, err := scanObject(val, 0, f.messageField)
					return err
				}
				return nil
			})
			return err
		}
		return nil
	})
	return err
}

func (f *frame) messageField(key, val []byte) error {
	var err error
	switch string(key) {
	case "id":
		f.msgID, err = parseUint(val)
	case "conversation_id":
		f.conv, err = parseUint(val)
	case "seq":
		f.seq, err = parseUint(val)
	case "content":
		if len(val) > 0 && val[0] == '"' {
			f.content, f.escaped, err = rawString(val)
		}
	}
	return err
}

// scanObject walks the object that starts at b[i] and calls fn with each key
// (raw, unescaped keys only) and raw value. It returns the index after the object.
func scanObject(b []byte, i int, fn func(key, val []byte) error) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, errSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax
		}
		kEnd, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : kEnd-1]
		i = skipWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		i = skipWS(b, i+1)
		vEnd, err := skipValue(b, i)
		if err != nil {
			return 0, err
		}
		if err := fn(key, b[i:vEnd]); err != nil {
			return 0, err
		}
		i = skipWS(b, vEnd)
		if i >= len(b) {
			return 0, errSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] ('"').
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errSyntax
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errSyntax
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		if j == i {
			return 0, errSyntax
		}
		return j, nil
	}
}

// rawString returns the bytes between the quotes of a JSON string value and
// whether they hold escapes.
func rawString(val []byte) ([]byte, bool, error) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return nil, false, errSyntax
	}
	s := val[1 : len(val)-1]
	for _, c := range s {
		if c == '\\' {
			return s, true, nil
		}
	}
	return s, false, nil
}

func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, errSyntax
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errSyntax
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}

// benchContent is what the bench writes into a text message: who sent it, its
// number and when, so that any receiver can account for it without a lookup.
// Times are nanoseconds on the tool's monotonic clock (all sockets live in this
// one process).
const contentPrefix = "bench "

// appendSend appends a message.send frame for message n of sender in conv. The
// frame id is n, which the ack echoes.
func appendSend(dst []byte, runID string, sender, n int, conv uint64, sentAt int64) []byte {
	dst = append(dst, `{"type":"message.send","id":"`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, `","data":{"conversation_id":`...)
	dst = strconv.AppendUint(dst, conv, 10)
	dst = append(dst, `,"client_msg_id":"`...)
	dst = append(dst, runID...)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(sender), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, `","kind":"text","content":"`...)
	dst = appendContent(dst, sender, n, sentAt)
	dst = append(dst, `"}}`...)
	return dst
}

func appendContent(dst []byte, sender, n int, sentAt int64) []byte {
	dst = append(dst, contentPrefix...)
	dst = strconv.AppendInt(dst, int64(sender), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, sentAt, 10)
	return dst
}

// parseContent reads what appendContent wrote; ok is false for anything else.
func parseContent(b []byte) (sender, n int, sentAt int64, ok bool) {
	if len(b) <= len(contentPrefix) || string(b[:len(contentPrefix)]) != contentPrefix {
		return 0, 0, 0, false
	}
	var nums [3]uint64
	b = b[len(contentPrefix):]
	for k := range nums {
		j := 0
		for j < len(b) && b[j] != ' ' {
			j++
		}
		v, err := parseUint(b[:j])
		if err != nil {
			return 0, 0, 0, false
		}
		nums[k] = v
		if k < 2 {
			if j >= len(b) {
				return 0, 0, 0, false
			}
			b = b[j+1:]
		} else if j != len(b) {
			return 0, 0, 0, false
		}
	}
	if nums[0] > 1<<31 || nums[1] > 1<<31 || nums[2] > 1<<62 {
		return 0, 0, 0, false
	}
	return int(nums[0]), int(nums[1]), int64(nums[2]), true
}

// appendPing appends a ping frame with id "p<k>".
func appendPing(dst []byte, k int) []byte {
	dst = append(dst, `{"type":"ping","id":"p`...)
	dst = strconv.AppendInt(dst, int64(k), 10)
	return append(dst, `","data":{}}`...)
}
