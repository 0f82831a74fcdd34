package ws

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"lechat/model"
)

// Bus carries what one node publishes to the other nodes of a cluster. The hub
// always delivers to its own sockets itself, then hands the same envelope to the
// bus; every other node's hub receives it from Run and delivers to its sockets.
// So local delivery never depends on the bus, and the hub's code is the same on
// one node (LocalBus, which has no one to tell) and on many (RedisBus).
type Bus interface {
	// Publish hands env to the other nodes. It must not block: when the bus
	// cannot take env now it drops it, counts it, and returns an error.
	Publish(ctx context.Context, env Envelope) error
	// Run receives the other nodes' envelopes and calls deliver for each, one
	// at a time, until ctx ends. It also calls deliver with a resync envelope
	// when this node may have missed envelopes (after an outage).
	Run(ctx context.Context, deliver func(Envelope)) error
	// Healthy reports whether envelopes reach the other nodes now.
	Healthy() bool
}

// EnvelopeKind says what an envelope asks of the nodes that receive it.
type EnvelopeKind uint8

const (
	// KindFrame: write Frame to every socket of UserIDs except Origin.
	KindFrame EnvelopeKind = 1
	// KindRevoke: close the sockets of UserIDs whose tokens Revoke names.
	KindRevoke EnvelopeKind = 2
	// KindResync: frames for UserIDs (every user when All) published before At
	// may have been lost: close their sockets opened before At, so that the
	// clients reconnect and resync by seq.
	KindResync EnvelopeKind = 3
)

// Envelope is one event on the bus, encoded once for all its recipients.
type Envelope struct {
	Kind    EnvelopeKind
	UserIDs []uint64
	Frame   []byte              // KindFrame: the frame as written to sockets
	Origin  string              // KindFrame: the socket the event came from, not echoed to
	Revoke  model.RevokedTokens // KindRevoke
	All     bool                // KindResync: every user
	At      time.Time           // when the event was published (after the commit)
	Node    string              // the node that published it (set by the bus)
}

// LocalBus is the bus of a single node: there is no other node to tell.
type LocalBus struct{}

var _ Bus = LocalBus{}

// Publish does nothing: the hub has already delivered to every socket there is.
func (LocalBus) Publish(context.Context, Envelope) error { return nil }

// Run waits until ctx ends.
func (LocalBus) Run(ctx context.Context, _ func(Envelope)) error {
	<-ctx.Done()
	return nil
}

// Healthy is always true.
func (LocalBus) Healthy() bool { return true }

// Envelopes travel between nodes in a small binary form: the frame inside is
// JSON already, and a group's 500 user ids as varints take ~1.5 KB instead of
// ~4 KB of JSON. Layout: version, kind, node, origin, at (unix ns), user count,
// user ids, then the kind's body (the frame; the revoked tokens as JSON; for a
// resync, one byte: all).
const envelopeVersion = 1

var errBadEnvelope = errors.New("malformed bus envelope")

// encodeEnvelope returns env in its wire form.
func encodeEnvelope(env Envelope) ([]byte, error) {
	var body []byte
	switch env.Kind {
	case KindFrame:
		body = env.Frame
	case KindRevoke:
		b, err := json.Marshal(env.Revoke)
		if err != nil {
			return nil, fmt.Errorf("encode revoked tokens: %w", err)
		}
		body = b
	case KindResync:
		body = []byte{0}
		if env.All {
			body[0] = 1
		}
	default:
		return nil, fmt.Errorf("encode envelope: unknown kind %d", env.Kind)
	}
	b := make([]byte, 0, 2+len(env.Node)+len(env.Origin)+2*binary.MaxVarintLen64+
		(len(env.UserIDs)+1)*3+len(body))
	b = append(b, envelopeVersion, byte(env.Kind))
	b = appendString(b, env.Node)
	b = appendString(b, env.Origin)
	b = binary.AppendVarint(b, env.At.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(env.UserIDs)))
	for _, id := range env.UserIDs {
		b = binary.AppendUvarint(b, id)
	}
	return append(b, body...), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeEnvelope reads what encodeEnvelope wrote. The frame of the result
// shares b's memory.
func decodeEnvelope(b []byte) (Envelope, error) {
	var env Envelope
	if len(b) < 2 || b[0] != envelopeVersion {
		return env, errBadEnvelope
	}
	env.Kind = EnvelopeKind(b[1])
	b = b[2:]
	var ok bool
	if env.Node, b, ok = readString(b); !ok {
		return env, errBadEnvelope
	}
	if env.Origin, b, ok = readString(b); !ok {
		return env, errBadEnvelope
	}
	at, n := binary.Varint(b)
	if n <= 0 {
		return env, errBadEnvelope
	}
	env.At = time.Unix(0, at)
	b = b[n:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) { // each id takes a byte at least
		return env, errBadEnvelope
	}
	b = b[n:]
	env.UserIDs = make([]uint64, count)
	for i := range env.UserIDs {
		id, n := binary.Uvarint(b)
		if n <= 0 {
			return env, errBadEnvelope
		}
		env.UserIDs[i] = id
		b = b[n:]
	}
	switch env.Kind {
	case KindFrame:
		env.Frame = b
	case KindRevoke:
		if err := json.Unmarshal(b, &env.Revoke); err != nil {
			return env, errBadEnvelope
		}
	case KindResync:
		if len(b) != 1 {
			return env, errBadEnvelope
		}
		env.All = b[0] == 1
	default:
		return env, errBadEnvelope
	}
	return env, nil
}

func readString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}
