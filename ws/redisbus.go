package ws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisBus is the bus of a cluster: every node publishes its envelopes on one
// Redis pub/sub channel and subscribes to it, and each node's hub delivers what
// concerns its own sockets (a lookup in its user → sessions index) and ignores
// the rest. There is no routing state to keep right: a socket receives remote
// frames from the moment it is in the index, before its "ready" frame. See
// docs/deploy.md for why one channel rather than per-user or per-node ones.
//
// Publishing never blocks: envelopes wait in a bounded queue and one goroutine
// writes them to Redis in pipelines, in order. Envelopes that cannot go out
// (queue full, Redis down) are dropped and counted, and the users they were for
// are remembered: once Redis answers again, a resync envelope tells the nodes to
// close those users' older sockets, so that their clients reconnect and fetch
// what they missed. Likewise a node whose subscription broke resyncs all its own
// sockets once it is subscribed again. Redis is never asked to keep anything.
type RedisBus struct {
	client  *redis.Client
	channel string
	node    string
	log     *slog.Logger
	met     *Metrics
	out     chan outgoing

	subUp   atomic.Bool // the subscription is live
	pubUp   atomic.Bool // the last write to Redis worked
	started atomic.Bool

	lostMu    sync.Mutex
	lostUsers map[uint64]struct{}
	lostAll   bool
	lostAt    time.Time // when the last envelope was dropped
}

var _ Bus = (*RedisBus)(nil)

// RedisConfig configures a RedisBus.
type RedisConfig struct {
	URL     string   // redis://[[user]:password@]host:port/db, rediss:// for TLS, or unix:///path
	Channel string   // pub/sub channel of the cluster; default "lechat:bus"
	NodeID  string   // this node
	Queue   int      // envelopes waiting to be published at most; default 65536
	Metrics *Metrics // nil: not counted anywhere
	Log     *slog.Logger
}

// Timing of the bus. Redis on the same network answers in well under a
// millisecond; these bound how long an outage takes to notice and to leave.
const (
	redisTimeout  = 2 * time.Second        // dial, read, write
	busPing       = time.Second            // a quiet subscription is pinged this often
	busRetry      = 500 * time.Millisecond // while Redis is down, writes are tried this often
	maxPipeline   = 512                    // envelopes in one round trip at most
	maxLostUsers  = 100_000                // beyond this many, a resync is for everyone
	defaultQueue  = 65536
	defaultBusKey = "lechat:bus"
)

// NewRedisBus returns a bus on the Redis server at cfg.URL. It does not connect
// yet: Run does, and keeps reconnecting while Redis is away.
func NewRedisBus(cfg RedisConfig) (*RedisBus, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("cluster redis url: %w", err)
	}
	opt.DialTimeout = redisTimeout
	opt.ReadTimeout = redisTimeout
	opt.WriteTimeout = redisTimeout
	opt.MaxRetries = -1   // a retried PUBLISH could be delivered twice
	opt.DialerRetries = 1 // a Redis that is down is noticed at once, and retried by the loops below
	opt.PoolSize = 4
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if cfg.Channel == "" {
		cfg.Channel = defaultBusKey
	}
	if cfg.Queue <= 0 {
		cfg.Queue = defaultQueue
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	redis.SetLogger(redisLogger{cfg.Log})
	b := &RedisBus{client: redis.NewClient(opt), channel: cfg.Channel, node: cfg.NodeID, log: cfg.Log,
		met: cfg.Metrics, out: make(chan outgoing, cfg.Queue), lostUsers: map[uint64]struct{}{}}
	b.pubUp.Store(true)
	return b, nil
}

// redisLogger sends go-redis's own messages (reconnect attempts) to the debug log.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// outgoing is an encoded envelope with whom it was for, should it be lost.
type outgoing struct {
	data  []byte
	users []uint64
	all   bool
}

// Publish queues env for the other nodes. It never waits: with the queue full,
// env is dropped (its users will be resynced) and an error returned.
func (b *RedisBus) Publish(ctx context.Context, env Envelope) error {
	env.Node = b.node
	if env.At.IsZero() {
		env.At = time.Now()
	}
	data, err := encodeEnvelope(env)
	if err != nil {
		return err
	}
	o := outgoing{data: data, users: env.UserIDs}
	select {
	case b.out <- o:
		return nil
	default:
		b.lost([]outgoing{o})
		return errors.New("cluster bus queue is full: envelope dropped")
	}
}

// Healthy reports whether the subscription is live and the last write worked.
func (b *RedisBus) Healthy() bool { return b.subUp.Load() && b.pubUp.Load() }

// Close releases the Redis connections; call it after Run has returned.
func (b *RedisBus) Close() error { return b.client.Close() }

// Run subscribes and delivers the other nodes' envelopes, and publishes this
// node's, until ctx ends; then it writes what is still queued (for at most two
// seconds) and returns.
func (b *RedisBus) Run(ctx context.Context, deliver func(Envelope)) error {
	if b.started.Swap(true) {
		return errors.New("cluster bus: Run called twice")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.publishLoop(ctx)
	}()
	b.subscribeLoop(ctx, deliver)
	wg.Wait()
	return nil
}

// subscribeLoop receives envelopes until ctx ends, pinging a quiet
// subscription, and resyncs this node's sockets when a broken subscription is
// made again.
func (b *RedisBus) subscribeLoop(ctx context.Context, deliver func(Envelope)) {
	var mu sync.Mutex                        // guards ps, which a broken subscription replaces
	ps := b.client.Subscribe(ctx, b.channel) // an error shows in Receive, which reconnects
	stopped := make(chan struct{})
	defer close(stopped)
	go func() { // a blocked Receive does not watch ctx: closing the PubSub ends it
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		mu.Lock()
		ps.Close()
		mu.Unlock()
	}()
	everSubscribed := false
	var pingSent time.Time
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, busPing)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if isTimeout(err) && b.subUp.Load() {
				if !pingSent.IsZero() && time.Since(pingSent) > redisTimeout+busPing {
					b.subDown(fmt.Errorf("no answer to ping for %v", time.Since(pingSent).Round(time.Millisecond)))
					mu.Lock()
					ps.Close() // a fresh PubSub reconnects
					ps = b.client.Subscribe(ctx, b.channel)
					mu.Unlock()
					pingSent = time.Time{}
					continue
				}
				if pingSent.IsZero() {
					if err := ps.Ping(ctx); err != nil {
						b.subDown(err)
						sleep(ctx, busRetry)
						continue
					}
					pingSent = time.Now()
				}
				continue
			}
			b.subDown(err)
			sleep(ctx, busRetry) // the next Receive reconnects and subscribes again
			continue
		}
		pingSent = time.Time{}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			if !b.subUp.Swap(true) {
				if everSubscribed {
					b.log.Warn("cluster bus: subscribed again; resyncing this node's sockets")
					deliver(Envelope{Kind: KindResync, All: true, At: time.Now(), Node: b.node})
				} else {
					b.log.Info("cluster bus: subscribed", "channel", b.channel, "node_id", b.node)
				}
			}
			everSubscribed = true
		case *redis.Message:
			env, err := decodeEnvelope([]byte(m.Payload))
			if err != nil {
				b.met.BusErrors.WithLabelValues("decode").Inc()
				b.log.Warn("cluster bus: bad envelope", "err", err, "bytes", len(m.Payload))
				continue
			}
			if env.Node == b.node {
				continue // delivered locally already
			}
			b.met.BusReceived.Inc()
			deliver(env)
		case *redis.Pong:
		}
	}
}

func (b *RedisBus) subDown(err error) {
	if b.subUp.Swap(false) {
		b.met.BusErrors.WithLabelValues("receive").Inc()
		b.log.Error("cluster bus: subscription lost; delivery to other nodes is degraded", "err", err)
	}
}

// publishLoop writes queued envelopes to Redis in pipelines, oldest first.
func (b *RedisBus) publishLoop(ctx context.Context) {
	batch := make([]outgoing, 0, maxPipeline)
	tick := time.NewTicker(busPing)
	defer tick.Stop()
	lastTry := time.Now()
	for {
		select {
		case <-ctx.Done():
			b.drain()
			return
		case o := <-b.out:
			batch = append(batch[:0], o)
			batch = b.fill(batch)
			if !b.pubUp.Load() && time.Since(lastTry) < busRetry {
				b.lost(batch) // Redis is down: do not wait on it for every envelope
				continue
			}
			lastTry = time.Now()
			b.write(ctx, batch)
		case <-tick.C:
			if time.Since(lastTry) >= busPing { // quiet: check Redis, and send a pending resync
				lastTry = time.Now()
				b.write(ctx, nil)
			}
		}
	}
}

// fill adds what else is queued, up to a pipeline's worth.
func (b *RedisBus) fill(batch []outgoing) []outgoing {
	for len(batch) < maxPipeline {
		select {
		case o := <-b.out:
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// drain writes what is queued when the bus stops, for two seconds at most.
func (b *RedisBus) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		batch := b.fill(nil)
		if len(batch) == 0 {
			return
		}
		b.write(ctx, batch)
	}
}

// write publishes batch in one pipeline, preceded by a resync envelope when
// envelopes were lost before; with an empty batch it only checks Redis.
func (b *RedisBus) write(ctx context.Context, batch []outgoing) {
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	resync, pending := b.takeLost()
	pipe := b.client.Pipeline()
	if pending {
		data, err := encodeEnvelope(resync)
		if err != nil {
			b.log.Error("cluster bus: encode resync", "err", err)
			pending = false
		} else {
			pipe.Publish(ctx, b.channel, data)
		}
	}
	for _, o := range batch {
		pipe.Publish(ctx, b.channel, o.data)
	}
	if pipe.Len() == 0 {
		pipe.Ping(ctx)
	}
	_, err := pipe.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		if pending {
			b.lostAgain(resync)
		}
		b.lost(batch)
		if b.pubUp.Swap(false) {
			b.log.Error("cluster bus: publishing failed; other nodes miss this node's events until Redis answers",
				"err", err)
		}
		return
	}
	if !b.pubUp.Swap(true) {
		b.log.Info("cluster bus: publishing works again")
	}
	b.met.BusSent.Add(float64(len(batch)))
	if pending {
		b.log.Info("cluster bus: asked the nodes to resync the users whose events were lost",
			"users", len(resync.UserIDs), "all", resync.All)
	}
}

// lost remembers the users of envelopes that did not go out.
func (b *RedisBus) lost(batch []outgoing) {
	if len(batch) == 0 {
		return
	}
	b.met.BusErrors.WithLabelValues("publish").Add(float64(len(batch)))
	b.lostMu.Lock()
	defer b.lostMu.Unlock()
	b.lostAt = time.Now()
	for _, o := range batch {
		if b.lostAll {
			return
		}
		for _, id := range o.users {
			b.lostUsers[id] = struct{}{}
		}
		if o.all || len(b.lostUsers) > maxLostUsers {
			b.lostAll, b.lostUsers = true, map[uint64]struct{}{}
		}
	}
}

// takeLost returns the resync envelope for what was lost, and forgets it.
func (b *RedisBus) takeLost() (Envelope, bool) {
	b.lostMu.Lock()
	defer b.lostMu.Unlock()
	if !b.lostAll && len(b.lostUsers) == 0 {
		return Envelope{}, false
	}
	env := Envelope{Kind: KindResync, All: b.lostAll, At: b.lostAt, Node: b.node}
	for id := range b.lostUsers {
		env.UserIDs = append(env.UserIDs, id)
	}
	b.lostUsers, b.lostAll = map[uint64]struct{}{}, false
	return env, true
}

// lostAgain puts back a resync envelope that did not go out either.
func (b *RedisBus) lostAgain(env Envelope) {
	b.lostMu.Lock()
	defer b.lostMu.Unlock()
	if env.At.After(b.lostAt) {
		b.lostAt = env.At
	}
	if env.All {
		b.lostAll, b.lostUsers = true, map[uint64]struct{}{}
	}
	if b.lostAll {
		return
	}
	for _, id := range env.UserIDs {
		b.lostUsers[id] = struct{}{}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
