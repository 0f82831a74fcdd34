package ws

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkBusRouting compares three ways of carrying frames between three
// nodes over Redis pub/sub, as recorded in docs/deploy.md:
//
//   - shared: one channel; every node receives every envelope and keeps what is
//     for its own users (what RedisBus does);
//   - per-node: one channel per node; the publisher knows (here: for free) which
//     node holds each user and publishes once per node concerned, with those users;
//   - per-user: one channel per online user, which its node subscribes to; the
//     publisher publishes once per recipient.
//
// Each op is one envelope delivered end to end to every recipient's node, for a
// private message (2 users, like the pairs scenario) and a 500-member group.
// Besides ns/op it reports Redis's output bytes per op and the messages the
// nodes had to read per op. Needs LECHAT_TEST_REDIS_URL.
//
//	LECHAT_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench BusRouting -benchtime 20000x ./ws
func BenchmarkBusRouting(b *testing.B) {
	url := os.Getenv("LECHAT_TEST_REDIS_URL")
	if url == "" {
		b.Skip("LECHAT_TEST_REDIS_URL is not set")
	}
	for _, sc := range []struct {
		name  string
		users int // recipients of an envelope
	}{{"private", 2}, {"group500", 500}} {
		for _, strategy := range []string{"shared", "per-node", "per-user"} {
			b.Run(sc.name+"/"+strategy, func(b *testing.B) { benchRouting(b, url, strategy, sc.users) })
		}
	}
}

func benchRouting(b *testing.B, url, strategy string, recipients int) {
	const nodes = 3
	const population = 3000 // online users; user u is on node u%3
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	opt.PoolSize = 8
	client := redis.NewClient(opt)
	defer client.Close()
	ctx := context.Background()
	prefix := fmt.Sprintf("bench:%d:", time.Now().UnixNano())
	frame := []byte(`{"type":"message.new","data":{"message":{"id":123456,"conversation_id":4242,"seq":1234,` +
		`"sender_id":777,"kind":"text","content":"你好，这是一条普通长度的消息 — a message of ordinary length 👋",` +
		`"client_msg_id":"0b9e4d2a-6f0e-4c6b-9a43-b4a0a4c1f7e1","created_at":"2026-11-22T01:02:03.004Z"}}}`)

	// The nodes: subscribe, then count the deliveries to their own users.
	var delivered, received atomic.Int64
	var ready sync.WaitGroup
	var done sync.WaitGroup
	subCtx, stop := context.WithCancel(ctx)
	defer stop()
	var subs []*redis.PubSub
	defer func() {
		for _, ps := range subs {
			ps.Close() // a blocked Receive does not watch its context
		}
	}()
	for k := range nodes {
		var channels []string
		switch strategy {
		case "shared":
			channels = []string{prefix + "all"}
		case "per-node":
			channels = []string{prefix + "node:" + strconv.Itoa(k)}
		case "per-user":
			for u := k; u < population; u += nodes {
				channels = append(channels, prefix+"u:"+strconv.Itoa(u))
			}
		}
		ps := client.Subscribe(ctx, channels...)
		subs = append(subs, ps)
		for range channels { // wait for every confirmation
			if _, err := ps.Receive(ctx); err != nil {
				b.Fatal(err)
			}
		}
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			for {
				msg, err := ps.ReceiveMessage(subCtx)
				if err != nil {
					return
				}
				received.Add(1)
				env, err := decodeEnvelope([]byte(msg.Payload))
				if err != nil {
					b.Error(err)
					return
				}
				n := int64(0)
				for _, u := range env.UserIDs {
					if int(u%nodes) == k { // the local index lookup
						n++
					}
				}
				delivered.Add(n)
			}
		}()
	}
	ready.Wait()

	// The envelopes' recipients: a private pair on random users, or one group.
	rng := rand.New(rand.NewPCG(1, 2))
	group := make([]uint64, recipients)
	for i := range group {
		group[i] = uint64(i) // spread evenly over the nodes
	}
	recipientsOf := func() []uint64 {
		if recipients == 2 {
			a := uint64(rng.IntN(population))
			return []uint64{a, (a + uint64(1+rng.IntN(population-1))) % population}
		}
		return group
	}
	outBefore := redisOutputBytes(ctx, client)
	b.ResetTimer()
	start := time.Now()
	pipe := client.Pipeline()
	publishes := 0
	flush := func() {
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for range b.N {
		users := recipientsOf()
		env := Envelope{Kind: KindFrame, Frame: frame, Origin: "3b2c9a4e-6a47-4c9b-9a5e-0f3f6f6c2d11", At: time.Now(), Node: "node-0"}
		switch strategy {
		case "shared":
			env.UserIDs = users
			data, _ := encodeEnvelope(env)
			pipe.Publish(ctx, prefix+"all", data)
			publishes++
		case "per-node":
			var by [nodes][]uint64
			for _, u := range users {
				by[u%nodes] = append(by[u%nodes], u)
			}
			for k, list := range by {
				if len(list) > 0 {
					env.UserIDs = list
					data, _ := encodeEnvelope(env)
					pipe.Publish(ctx, prefix+"node:"+strconv.Itoa(k), data)
					publishes++
				}
			}
		case "per-user":
			for _, u := range users {
				env.UserIDs = []uint64{u}
				data, _ := encodeEnvelope(env)
				pipe.Publish(ctx, prefix+"u:"+strconv.FormatUint(u, 10), data)
				publishes++
			}
		}
		if pipe.Len() >= 512 {
			flush()
		}
	}
	flush()
	want := int64(b.N * recipients)
	deadline := time.Now().Add(2 * time.Minute)
	for delivered.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", delivered.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	for _, ps := range subs {
		ps.Close()
	}
	done.Wait()
	b.ReportMetric(float64(redisOutputBytes(ctx, client)-outBefore)/float64(b.N), "redis-out-B/op")
	b.ReportMetric(float64(received.Load())/float64(b.N), "node-msgs/op")
	b.ReportMetric(float64(publishes)/float64(b.N), "publishes/op")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "envelopes/s")
}

// redisOutputBytes is Redis's total_net_output_bytes.
func redisOutputBytes(ctx context.Context, c *redis.Client) int64 {
	info, err := c.Info(ctx, "stats").Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_net_output_bytes:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkReceiveEnvelope is what a node spends on an envelope from the bus
// that concerns none of its sockets: decode, then one index lookup per recipient.
func BenchmarkReceiveEnvelope(b *testing.B) {
	h := New(DefaultConfig(), nil, nil, nil, nil)
	for _, n := range []int{2, 500} {
		users := make([]uint64, n)
		for i := range users {
			users[i] = uint64(i + 1)
		}
		data, err := encodeEnvelope(Envelope{Kind: KindFrame, UserIDs: users, Frame: make([]byte, 350), Node: "n", At: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			for b.Loop() {
				env, err := decodeEnvelope(data)
				if err != nil {
					b.Fatal(err)
				}
				h.fromBus(env)
			}
		})
	}
}
