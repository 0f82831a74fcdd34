package ws

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"lechat/model"
)

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func TestEnvelopeRoundTrip(t *testing.T) {
	at := time.Unix(0, time.Now().UnixNano())
	tests := []Envelope{
		{Kind: KindFrame, UserIDs: []uint64{1, 300, 1 << 40}, Frame: []byte(`{"type":"message.new","data":{"x":"你好 👋"}}`),
			Origin: "3b2c9a4e-6a47-4c9b-9a5e-0f3f6f6c2d11", At: at, Node: "node-1"},
		{Kind: KindFrame, UserIDs: []uint64{}, Frame: []byte(`{}`), At: at},
		{Kind: KindRevoke, UserIDs: []uint64{7}, Revoke: model.RevokedTokens{TokenIDs: []string{"a", "b"}}, At: at, Node: "n"},
		{Kind: KindRevoke, UserIDs: []uint64{7}, Revoke: model.RevokedTokens{AllBut: "c"}, At: at, Node: "n"},
		{Kind: KindResync, UserIDs: []uint64{}, All: true, At: at, Node: "n"},
		{Kind: KindResync, UserIDs: []uint64{9, 10}, At: at, Node: "n"},
	}
	for i, env := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			b, err := encodeEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeEnvelope(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !got.At.Equal(env.At) {
				t.Fatalf("at %v, want %v", got.At, env.At)
			}
			got.At = env.At
			if env.Frame == nil {
				got.Frame = nil
			}
			if !reflect.DeepEqual(got, env) {
				t.Fatalf("decoded %+v, want %+v", got, env)
			}
			// Every truncation is refused, never a panic.
			for n := range len(b) {
				if _, err := decodeEnvelope(b[:n]); err == nil && env.Kind != KindFrame {
					t.Fatalf("a truncation to %d of %d bytes decoded", n, len(b))
				}
			}
		})
	}
	if _, err := decodeEnvelope([]byte{9, 1}); err == nil {
		t.Error("an unknown version decoded")
	}
	if _, err := encodeEnvelope(Envelope{Kind: 99}); err == nil {
		t.Error("an unknown kind encoded")
	}
}

// testRedis is a redis-server child process on a port of its own, which the
// test may kill and start again.
type testRedis struct {
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startTestRedis(t *testing.T) *testRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("LECHAT_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("redis-server is not on the PATH (LECHAT_TEST_REQUIRE_SERVICES=1)")
		}
		t.Skip("redis-server is not on the PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &testRedis{port: l.Addr().(*net.TCPAddr).Port}
	l.Close()
	r.start(t)
	t.Cleanup(r.kill)
	return r
}

func (r *testRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *testRedis) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command("redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir())
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			c.Write([]byte("PING\r\n"))
			b := make([]byte, 7)
			n, _ := io.ReadFull(c, b)
			c.Close()
			if string(b[:n]) == "+PONG\r\n" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *testRedis) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Signal(syscall.SIGKILL)
		<-r.done
	}
}

// inbox collects what a bus delivers.
type inbox struct {
	mu   sync.Mutex
	envs []Envelope
}

func (in *inbox) deliver(env Envelope) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.envs = append(in.envs, env)
}

func (in *inbox) find(match func(Envelope) bool) (Envelope, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, e := range in.envs {
		if match(e) {
			return e, true
		}
	}
	return Envelope{}, false
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still not %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two buses on one Redis: envelopes cross in order and are not echoed; Redis
// killed: the buses say so, drop and count what they cannot publish; Redis
// back: they reconnect by themselves, each resyncs its own sockets, and the
// publisher asks the others to resync exactly the users it dropped frames for.
func TestRedisBusOutage(t *testing.T) {
	r := startTestRedis(t)
	run := func(node string) (*RedisBus, *inbox, *Metrics) {
		met := NewMetrics(nil)
		b, err := NewRedisBus(RedisConfig{URL: r.url(), NodeID: node, Metrics: met, Channel: "test:bus"})
		if err != nil {
			t.Fatal(err)
		}
		in := &inbox{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { b.Run(ctx, in.deliver); close(done) }()
		t.Cleanup(func() { cancel(); <-done; b.Close() })
		return b, in, met
	}
	a, _, metA := run("a")
	b, inB, _ := run("b")
	waitFor(t, 5*time.Second, "both buses healthy", func() bool { return a.Healthy() && b.Healthy() })

	for i := range 100 {
		if err := a.Publish(context.Background(), Envelope{Kind: KindFrame, UserIDs: []uint64{1, 2},
			Frame: []byte(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "100 frames at b", func() bool {
		inB.mu.Lock()
		defer inB.mu.Unlock()
		return len(inB.envs) == 100
	})
	for i, e := range inB.envs {
		if string(e.Frame) != fmt.Sprintf(`{"n":%d}`, i) || e.Node != "a" || !slices.Equal(e.UserIDs, []uint64{1, 2}) {
			t.Fatalf("envelope %d at b: %+v", i, e)
		}
	}

	r.kill()
	waitFor(t, 5*time.Second, "both buses degraded", func() bool { return !a.Healthy() && !b.Healthy() })
	a.Publish(context.Background(), Envelope{Kind: KindFrame, UserIDs: []uint64{42}, Frame: []byte(`{}`)})
	waitFor(t, 5*time.Second, "the lost envelope counted", func() bool { return counterValue(metA.BusErrors.WithLabelValues("publish")) >= 1 })
	time.Sleep(300 * time.Millisecond)
	lostBefore := time.Now()

	r.start(t)
	waitFor(t, 10*time.Second, "both buses healthy again", func() bool { return a.Healthy() && b.Healthy() })
	own, ok := inB.find(func(e Envelope) bool { return e.Kind == KindResync && e.All })
	if !ok || own.Node != "b" {
		t.Fatalf("b did not resync its own sockets after subscribing again: %+v", own)
	}
	waitFor(t, 5*time.Second, "a's resync of user 42 at b", func() bool {
		_, ok := inB.find(func(e Envelope) bool {
			return e.Kind == KindResync && !e.All && e.Node == "a" && slices.Equal(e.UserIDs, []uint64{42}) && e.At.Before(lostBefore)
		})
		return ok
	})
	// And frames flow again.
	a.Publish(context.Background(), Envelope{Kind: KindFrame, UserIDs: []uint64{5}, Frame: []byte(`{"after":1}`)})
	waitFor(t, 5*time.Second, "a frame after the outage", func() bool {
		_, ok := inB.find(func(e Envelope) bool { return string(e.Frame) == `{"after":1}` })
		return ok
	})
}
