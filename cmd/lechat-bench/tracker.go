package main

// Accounting of deliveries. Every message is known by (sender, n): sender is the
// index of the sending socket, n the message's number at that sender. A sender
// keeps the fate of each of its messages (outcome); each receiving socket keeps
// one stream per sender it expects messages from. Each structure has exactly one
// writer (the goroutine reading that socket); totals are taken after every
// reader has stopped, so nothing here needs a lock.

// Outcomes of a sent message, as its sender learns them.
const (
	outNone   uint8 = iota // not sent, or no answer yet
	outAcked               // ack received
	outFailed              // error frame received
)

// outbox is a sender's view of its messages.
type outbox struct {
	sent    int     // messages written to the socket
	outcome []uint8 // by n
	ackLat  []int64 // by n: nanoseconds from send to ack, where acked
}

func newOutbox(messages int) *outbox {
	return &outbox{outcome: make([]uint8, messages), ackLat: make([]int64, messages)}
}

// ack records the ack of message n after lat; false when n is unknown or was
// answered before.
func (o *outbox) ack(n int, lat int64) bool {
	if n < 0 || n >= len(o.outcome) || o.outcome[n] != outNone {
		return false
	}
	o.outcome[n], o.ackLat[n] = outAcked, lat
	return true
}

// fail records an error answer to message n; false when n is unknown or was
// answered before.
func (o *outbox) fail(n int) bool {
	if n < 0 || n >= len(o.outcome) || o.outcome[n] != outNone {
		return false
	}
	o.outcome[n] = outFailed
	return true
}

// stream is what one receiving socket got of one sender's messages.
type stream struct {
	sender int
	counts []uint8 // arrivals of message n (saturates at 255)
	lat    []int64 // nanoseconds from send to first arrival, where counts > 0
}

func newStream(sender, messages int) *stream {
	return &stream{sender: sender, counts: make([]uint8, messages), lat: make([]int64, messages)}
}

// record notes an arrival of message n after lat. first is true for its first
// arrival; ok is false when n is out of range.
func (s *stream) record(n int, lat int64) (first, ok bool) {
	if n < 0 || n >= len(s.counts) {
		return false, false
	}
	c := s.counts[n]
	if c < 255 {
		s.counts[n] = c + 1
	}
	if c == 0 {
		s.lat[n] = lat
		return true, true
	}
	return false, true
}

// seqOrder checks, for one socket, that seqs grow within each conversation. A
// repeated seq is a duplicate (counted by the streams), not a reordering.
type seqOrder struct {
	convs []uint64
	last  []uint64
}

// observe returns false when seq is lower than one already seen in conv.
func (o *seqOrder) observe(conv, seq uint64) bool {
	for i, c := range o.convs {
		if c == conv {
			if seq < o.last[i] {
				return false
			}
			o.last[i] = seq
			return true
		}
	}
	o.convs = append(o.convs, conv)
	o.last = append(o.last, seq)
	return true
}

// tally is the accounting of a scenario.
type tally struct {
	Expected         int `json:"expected_deliveries"` // acked messages × their receivers
	Delivered        int `json:"delivered"`           // first arrivals of acked messages
	Duplicates       int `json:"duplicates"`          // arrivals beyond the first
	Lost             int `json:"lost"`                // acked, never arrived at a receiver
	UnackedDelivered int `json:"unacked_delivered"`   // arrived, but the sender got no ack (or an error)
}

// add accounts for stream s against its sender's outbox (nil: the sender sent
// nothing) and appends the latencies of first arrivals to lats.
func (t *tally) add(s *stream, o *outbox, lats []int64) []int64 {
	if o == nil {
		o = &outbox{}
	}
	for n, c := range s.counts {
		acked := n < len(o.outcome) && o.outcome[n] == outAcked
		if acked {
			t.Expected++
		}
		if c == 0 {
			if acked {
				t.Lost++
			}
			continue
		}
		t.Duplicates += int(c) - 1
		if acked {
			t.Delivered++
		} else {
			t.UnackedDelivered++
		}
		lats = append(lats, s.lat[n])
	}
	return lats
}
