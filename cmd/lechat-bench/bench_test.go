package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1)
	}
	tests := []struct {
		name   string
		sorted []int64
		p      float64
		want   int64
	}{
		{"empty", nil, 50, 0},
		{"one", []int64{7}, 99, 7},
		{"p50 of 1..100", hundred, 50, 50},
		{"p95 of 1..100", hundred, 95, 95},
		{"p99 of 1..100", hundred, 99, 99},
		{"p100 is the max", hundred, 100, 100},
		{"p0 is the min", hundred, 0, 1},
		{"nearest rank rounds up", []int64{1, 2, 3}, 50, 2},
		{"p99 of 10 is the max", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(p%v) = %d, want %d", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ns := []int64{5e6, 1e6, 3e6, 2e6, 4e6} // unsorted on purpose
	got := summarize(ns)
	want := latency{Count: 5, P50: 3, P95: 5, P99: 5, Max: 5, Mean: 3}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if (summarize(nil) != latency{}) {
		t.Error("summarize(nil) is not zero")
	}
}

func TestTally(t *testing.T) {
	// Sender 0 sends 5 messages: 0-2 acked, 3 failed, 4 unanswered.
	o := newOutbox(5)
	for n := range 3 {
		if !o.ack(n, 1000) {
			t.Fatalf("ack(%d) refused", n)
		}
	}
	if o.ack(0, 1) || o.fail(0) {
		t.Error("a second answer to message 0 was taken")
	}
	if !o.fail(3) || o.ack(9, 1) || o.fail(-1) {
		t.Error("fail(3) refused or an out-of-range answer taken")
	}
	s := newStream(0, 5)
	arrivals := []struct {
		n         int
		first, ok bool
	}{
		{0, true, true},
		{0, false, true}, // duplicate
		{0, false, true}, // and again
		{2, true, true},
		{4, true, true}, // never acked
		{5, false, false},
		{-1, false, false},
	}
	for _, a := range arrivals {
		first, ok := s.record(a.n, int64(10+a.n))
		if first != a.first || ok != a.ok {
			t.Errorf("record(%d) = %v, %v; want %v, %v", a.n, first, ok, a.first, a.ok)
		}
	}
	var tl tally
	lats := tl.add(s, o, nil)
	want := tally{Expected: 3, Delivered: 2, Duplicates: 2, Lost: 1, UnackedDelivered: 1}
	if tl != want {
		t.Errorf("tally = %+v, want %+v", tl, want)
	}
	if len(lats) != 3 || lats[0] != 10 || lats[1] != 12 || lats[2] != 14 {
		t.Errorf("latencies = %v, want the first arrivals [10 12 14]", lats)
	}
}

func TestStreamSaturates(t *testing.T) {
	s := newStream(0, 1)
	for range 300 {
		s.record(0, 1)
	}
	var tl tally
	o := newOutbox(1)
	o.ack(0, 1)
	tl.add(s, o, nil)
	if tl.Duplicates != 254 {
		t.Errorf("duplicates = %d, want 254 (the count saturates at 255)", tl.Duplicates)
	}
}

func TestSeqOrder(t *testing.T) {
	var o seqOrder
	steps := []struct {
		conv, seq uint64
		want      bool
	}{
		{1, 1, true},
		{1, 3, true}, // gaps are fine: the socket's own messages are not echoed to it
		{2, 1, true}, // another conversation has its own seqs
		{1, 3, true}, // a repeat is a duplicate, not a reordering
		{1, 2, false},
		{2, 2, true},
		{1, 4, true},
	}
	for i, s := range steps {
		if got := o.observe(s.conv, s.seq); got != s.want {
			t.Errorf("step %d: observe(%d, %d) = %v, want %v", i, s.conv, s.seq, got, s.want)
		}
	}
}

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name, in               string
		typ, id, code, content string
		msgID, conv, seq       uint64
		hasMsg, escaped, bad   bool
	}{
		{name: "ack", in: `{"type":"ack","id":"17","data":{"message":{"id":99,"conversation_id":5,"seq":3,"sender_id":2,"kind":"text","content":"bench 1 17 123","client_msg_id":"x.1.17","created_at":"2025-01-01T00:00:00Z"}}}`,
			typ: "ack", id: "17", content: "bench 1 17 123", msgID: 99, conv: 5, seq: 3, hasMsg: true},
		{name: "message.new, keys reordered, spaces", in: ` { "data" : { "extra": [1, {"a": "}"}], "message" : { "seq": 8, "content": "bench 0 1 2", "conversation_id": 4, "id": 12 } }, "type" : "message.new" } `,
			typ: "message.new", content: "bench 0 1 2", msgID: 12, conv: 4, seq: 8, hasMsg: true},
		{name: "error", in: `{"type":"error","id":"3","data":{"code":"forbidden","message":"you are not a member \"here\""}}`,
			typ: "error", id: "3", code: "forbidden"},
		{name: "pong", in: `{"type":"pong","id":"p4","data":{}}`, typ: "pong", id: "p4"},
		{name: "presence", in: `{"type":"presence","data":{"user_id":7,"online":true}}`, typ: "presence"},
		{name: "escaped content", in: `{"type":"message.new","data":{"message":{"id":1,"content":"say \"hi\""}}}`,
			typ: "message.new", content: `say \"hi\"`, msgID: 1, hasMsg: true, escaped: true},
		{name: "image content object", in: `{"type":"message.new","data":{"message":{"id":2,"kind":"image","content":{"url":"/u/1.png","width":3}}}}`,
			typ: "message.new", msgID: 2, hasMsg: true},
		{name: "truncated", in: `{"type":"ack","id":"1","data":{"message":{"id":`, bad: true},
		{name: "not an object", in: `[1,2]`, bad: true},
		{name: "negative id", in: `{"type":"ack","data":{"message":{"id":-1}}}`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f frame
			err := parseFrame([]byte(tt.in), &f)
			if tt.bad {
				if err == nil {
					t.Fatal("parseFrame accepted a malformed frame")
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFrame: %v", err)
			}
			if !json.Valid([]byte(tt.in)) {
				t.Fatal("the test frame is not valid JSON")
			}
			if string(f.typ) != tt.typ || string(f.id) != tt.id || string(f.code) != tt.code ||
				string(f.content) != tt.content || f.msgID != tt.msgID || f.conv != tt.conv ||
				f.seq != tt.seq || f.hasMsg != tt.hasMsg || f.escaped != tt.escaped {
				t.Errorf("got type %q id %q code %q content %q msg %d conv %d seq %d hasMsg %v escaped %v",
					f.typ, f.id, f.code, f.content, f.msgID, f.conv, f.seq, f.hasMsg, f.escaped)
			}
		})
	}
}

func TestSendFrameRoundTrip(t *testing.T) {
	b := appendSend(nil, "bab12cd34p", 12, 345, 678, 9_876_543_210)
	var got struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			ConversationID uint64 `json:"conversation_id"`
			ClientMsgID    string `json:"client_msg_id"`
			Kind           string `json:"kind"`
			Content        string `json:"content"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("the send frame is not JSON: %v\n%s", err, b)
	}
	if got.Type != "message.send" || got.ID != "345" || got.Data.ConversationID != 678 ||
		got.Data.ClientMsgID != "bab12cd34p.12.345" || got.Data.Kind != "text" {
		t.Errorf("send frame = %+v", got)
	}
	sender, n, at, ok := parseContent([]byte(got.Data.Content))
	if !ok || sender != 12 || n != 345 || at != 9_876_543_210 {
		t.Errorf("parseContent(%q) = %d, %d, %d, %v", got.Data.Content, sender, n, at, ok)
	}
	for _, bad := range []string{"", "bench", "bench 1 2", "bench 1 2 3 4", "bench a 2 3", "hello 1 2 3", "bench 1  3", "bench 1 2 3 "} {
		if _, _, _, ok := parseContent([]byte(bad)); ok {
			t.Errorf("parseContent(%q) accepted", bad)
		}
	}
	var ping struct{ Type, ID string }
	if err := json.Unmarshal(appendPing(nil, 3), &ping); err != nil || ping.Type != "ping" || ping.ID != "p3" {
		t.Errorf("ping frame: %+v, %v", ping, err)
	}
}

func TestParseFrameAllocs(t *testing.T) {
	in := []byte(`{"type":"message.new","data":{"message":{"id":99,"conversation_id":5,"seq":3,"sender_id":2,"kind":"text","content":"bench 1 17 123","client_msg_id":"x.1.17","created_at":"2025-01-01T00:00:00Z"}}}`)
	var f frame
	allocs := testing.AllocsPerRun(100, func() {
		if err := parseFrame(in, &f); err != nil {
			t.Fatal(err)
		}
		parseContent(f.content)
	})
	if allocs > 0 {
		t.Errorf("parseFrame allocates %v times per frame, want 0", allocs)
	}
}

func TestLogWatcher(t *testing.T) {
	var buf bytes.Buffer
	// Exactly what the server's LogMailer writes, in both formats.
	text := slog.New(slog.NewTextHandler(&buf, nil))
	text.Info("mail not sent: no SMTP host is configured, so here it is", "to", "a_1@bench.example.com",
		"subject", "Activate", "text", "Hello,\n\nhttp://127.0.0.1:9/activate?token=Ab-9_x\n")
	js := slog.New(slog.NewJSONHandler(&buf, nil))
	js.Info("mail not sent", "to", "b_2@bench.example.com", "text", "http://x/activate?token=Zz_1-")
	text.Warn("slow consumer cut off", "user_id", 3)
	js.Error("frame failed", "err", "boom")

	w := newLogWatcher(nil)
	w.consume(&buf)
	ctx := context.Background()
	for email, want := range map[string]string{"a_1@bench.example.com": "Ab-9_x", "B_2@bench.example.com": "Zz_1-"} {
		got, err := w.token(ctx, email, 10*time.Millisecond)
		if err != nil || got != want {
			t.Errorf("token(%s) = %q, %v; want %q", email, got, err, want)
		}
	}
	if _, err := w.token(ctx, "nobody@bench.example.com", 10*time.Millisecond); err == nil {
		t.Error("a token for an address that got no mail")
	}
	warns, errs, kinds := w.counts()
	if warns != 1 || errs != 1 || kinds["WARN slow consumer cut off"] != 1 || kinds["ERROR frame failed"] != 1 {
		t.Errorf("counts = %d warnings, %d errors, %v", warns, errs, kinds)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:80": true, "[::1]:8080": true, "127.0.0.2:1": true,
		"10.0.0.1:8080": false, "example.com:80": false, "0.0.0.0:8080": false, ":8080": false, "127.0.0.1": false,
	} {
		if err := loopbackOnly(addr); (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok %v", addr, err, ok)
		}
	}
}
