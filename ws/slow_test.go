package ws_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/service/servicetest"
	"lechat/ws"
)

// A socket that stops reading is cut off; the other receivers get every message
// in order and the sender's acks keep coming at their usual pace.
func TestSlowReaderIsCutOff(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		// Every socket's queue is small here; the sender keeps fewer frames than
		// that in flight, so only a socket that stops reading overflows.
		h := newHarness(t, db, func(c *ws.Config) { c.QueueSize, c.WriteWait = 16, 6*time.Second })
		alice, bob, conv := h.pair(t)
		a := h.dial(t, "alice", alice.Token)
		fast := h.dial(t, "bob-fast", bob.Token)
		slow := h.dial(t, "bob-slow", h.login(t, bob), withoutReader(), withSmallSegments())
		eventually(t, waitFrame, "the slow socket registered", func() bool { return h.socketRows(t, bob.ID) == 2 })

		// Large messages fill the slow socket's TCP buffers quickly; then its queue
		// overflows and it is cut off: with 1013 once a write gets through, or when
		// its blocked write times out.
		body := strings.Repeat("𠮷", 3990) // 16 KB a frame
		const chunk = 8
		var sent []wireMessage
		var slowest time.Duration // the longest a chunk of sends waited for its acks
		cutAt := -1
		begin := time.Now()
		pace := time.NewTicker(100 * time.Millisecond) // no need to flood the database
		defer pace.Stop()
		for cutAt < 0 || len(sent) < cutAt+2*chunk {
			if cutAt < 0 && time.Since(begin) > 3*h.cfg.WriteWait {
				t.Fatalf("the slow socket is still connected after %v and %d messages of %d bytes",
					time.Since(begin), len(sent), len(body))
			}
			<-pace.C
			start := time.Now()
			ids := make([]string, chunk)
			for i := range ids {
				ids[i] = a.sendMessage(t, conv, a.nextID("cm"), "text", fmt.Sprintf("%d %s", len(sent)+i, body))
			}
			for _, id := range ids {
				sent = append(sent, a.expectAck(t, id))
			}
			slowest = max(slowest, time.Since(start))
			if cutAt < 0 && h.hub.Connections() == 2 {
				cutAt = len(sent)
				t.Logf("the slow socket was cut off after %v and %d messages of %d bytes", time.Since(begin), cutAt, len(body))
			}
		}
		// Had the hub waited for the slow socket, a chunk would have stalled until
		// that socket's write timed out, nearly WriteWait after its buffers filled.
		if slowest >= h.cfg.WriteWait/2 {
			t.Errorf("a chunk of %d sends waited %v for its acks (write timeout %v)", chunk, slowest, h.cfg.WriteWait)
		}
		t.Logf("the slowest chunk of %d sends took %v", chunk, slowest)
		eventually(t, waitFrame, "the slow socket's row removed", func() bool { return h.socketRows(t, bob.ID) == 1 })

		// The fast receiver got everything, in order.
		for i, want := range sent {
			got := messageOf(t, fast.expect(t, "message.new", nil, waitFrame))
			if got.Seq != want.Seq || got.ID != want.ID {
				t.Fatalf("fast receiver: message %d is seq %d, want %d", i, got.Seq, want.Seq)
			}
		}
		fast.sync(t)

		// The slow one, once it reads again, finds an in-order prefix, then the end.
		slow.startReader()
		err := slow.expectClosed(t, waitBulk)
		var seqs []uint64
		for _, f := range slow.backlog {
			if f.Type == "message.new" {
				seqs = append(seqs, messageOf(t, f).Seq)
			}
		}
		for i, s := range seqs {
			if s != uint64(i+1) {
				t.Fatalf("the slow socket's frames are not an in-order prefix: %v", seqs)
			}
		}
		if len(seqs) >= len(sent) {
			t.Fatalf("the slow socket got all %d messages; it was not cut off", len(seqs))
		}
		t.Logf("the slow socket read %d of %d messages, then: %v", len(seqs), len(sent), err)
	})
}
