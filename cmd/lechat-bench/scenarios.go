package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"
)

// env is what every scenario works with.
type env struct {
	cfg   config
	srv   *server
	api   *apiClient
	runID string // unique per invocation; user names and client_msg_ids start with it
	runs  int    // scenarios started, so that a repeated scenario gets new names
}

// prefix returns a fresh name prefix for a scenario's users and messages.
func (e *env) prefix(letter string) string {
	e.runs++
	return fmt.Sprintf("%s%s%d", e.runID, letter, e.runs)
}

// ---------------------------------------------------------------- pairs

// runPairs: users in pairs of friends, one socket each; both users of a pair
// send -messages to each other, at a fixed total rate or paced by acks.
func runPairs(ctx context.Context, e *env) (*result, error) {
	cfg := e.cfg
	res := newResult("pairs", e)
	n := cfg.users &^ 1
	if n < 2 {
		return nil, errors.New("-users must be at least 2 (and even)")
	}
	res.Config = map[string]any{"users": n, "messages_per_user": cfg.messages, "rate": cfg.rate,
		"window": cfg.window, "drain": cfg.drain.String()}
	if cfg.rate > 0 {
		res.Config["mode"] = fmt.Sprintf("fixed rate: %g msg/s offered in total, %.3g per sender", cfg.rate, cfg.rate/float64(n))
	} else {
		res.Config["mode"] = fmt.Sprintf("as fast as acks allow: %d unacked message(s) per sender", cfg.window)
	}
	setupStart := time.Now()
	prefix := e.prefix("p")
	users, err := createUsers(ctx, e.api, e.srv, prefix, n, cfg.setupConc)
	if err != nil {
		return nil, fmt.Errorf("pairs setup: %w", err)
	}
	convs := make([]uint64, n/2)
	err = forEach(ctx, n/2, cfg.setupConc, "pairs: friendships and conversations", func(ctx context.Context, p int) error {
		a, b := users[2*p], users[2*p+1]
		if err := befriend(ctx, e.api, a, b); err != nil {
			return err
		}
		id, err := openPrivate(ctx, e.api, a, b)
		convs[p] = id
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pairs setup: %w", err)
	}
	r := newRun(prefix)
	clients, fails := dialAll(ctx, r, e.srv.addr, users, cfg.dialConc, "pairs: sockets", func(c *client) {
		c.prepareSend(convs[c.idx/2], cfg.messages, cfg.window)
		c.expect(c.idx^1, cfg.messages)
	})
	defer closeAll(r, clients)
	addCounts(res.Errors, fails)
	if len(fails) > 0 {
		return res, fmt.Errorf("pairs: %d sockets failed to open: %v", sum(fails), fails)
	}
	if err := e.ready(ctx, res, clients); err != nil {
		return res, err
	}
	res.SetupSec = time.Since(setupStart).Seconds()
	res.Users, res.Sockets = n, n
	time.Sleep(time.Second) // let presence events of the connects pass

	m := e.measure()
	sp := sendAll(ctx, r, clients, plan{messages: cfg.messages, rate: cfg.rate, ackTimeout: cfg.ackTimeout})
	waitAnswers(ctx, r, sp.sent, cfg.drain)
	waitDeliveries(ctx, r, func() int64 { return r.acked.Load() }, cfg.drain)
	m.finish(res)
	closeAll(r, clients)

	finishMessages(res, r, clients, sp)
	return res, nil
}

// ---------------------------------------------------------------- group

// runGroup: one group of -group-size members, all online; -group-senders of
// them send -group-messages each, one at a time, -group-interval apart.
func runGroup(ctx context.Context, e *env) (*result, error) {
	cfg := e.cfg
	res := newResult("group", e)
	g, s, k := cfg.groupSize, cfg.groupSenders, cfg.groupMessages
	if g < 2 || s < 1 || s > g {
		return nil, errors.New("-group-size must be at least 2 and -group-senders between 1 and the group size")
	}
	res.Config = map[string]any{"group_size": g, "senders": s, "messages_per_sender": k,
		"interval": cfg.groupInterval.String(), "drain": cfg.drain.String()}
	setupStart := time.Now()
	prefix := e.prefix("g")
	users, err := createUsers(ctx, e.api, e.srv, prefix, g, cfg.setupConc)
	if err != nil {
		return nil, fmt.Errorf("group setup: %w", err)
	}
	owner := users[0]
	grp, err := createGroup(ctx, e.api, owner, "bench "+prefix)
	if err != nil {
		return nil, fmt.Errorf("group setup: %w", err)
	}
	if grp, err = getGroup(ctx, e.api, owner, grp.ID); err != nil {
		return nil, fmt.Errorf("group setup: %w", err)
	}
	if grp.ConversationID == nil {
		res.Available = false
		res.Unavailable = fmt.Sprintf("GET /api/v1/groups/%d answers conversation_id null: this server "+
			"has no group conversations yet, so nothing can be sent to a group", grp.ID)
		return res, nil
	}
	conv := *grp.ConversationID
	err = forEach(ctx, g-1, cfg.setupConc, "group: joins", func(ctx context.Context, i int) error {
		return joinGroup(ctx, e.api, users[i+1], grp.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("group setup: %w", err)
	}
	if grp, err = getGroup(ctx, e.api, owner, grp.ID); err != nil {
		return nil, fmt.Errorf("group setup: %w", err)
	}
	if grp.MemberCount != g {
		return nil, fmt.Errorf("group setup: the group has %d members after %d joins, want %d", grp.MemberCount, g-1, g)
	}
	r := newRun(prefix)
	clients, fails := dialAll(ctx, r, e.srv.addr, users, cfg.dialConc, "group: sockets", func(c *client) {
		if c.idx < s {
			c.prepareSend(conv, k, 1)
		}
		for sender := range s {
			if sender != c.idx {
				c.expect(sender, k)
			}
		}
	})
	defer closeAll(r, clients)
	addCounts(res.Errors, fails)
	if len(fails) > 0 {
		return res, fmt.Errorf("group: %d sockets failed to open: %v", sum(fails), fails)
	}
	if err := e.ready(ctx, res, clients); err != nil {
		return res, err
	}
	res.SetupSec = time.Since(setupStart).Seconds()
	res.Users, res.Sockets = g, g
	time.Sleep(time.Second)

	m := e.measure()
	sp := sendAll(ctx, r, clients[:s], plan{messages: k, interval: cfg.groupInterval, ackTimeout: cfg.ackTimeout})
	waitAnswers(ctx, r, sp.sent, cfg.drain)
	waitDeliveries(ctx, r, func() int64 { return r.acked.Load() * int64(g-1) }, cfg.drain)
	m.finish(res)
	closeAll(r, clients)

	finishMessages(res, r, clients, sp)
	// Fan-out: for each message, the time until the last member had it.
	var fan []int64
	for sender := range s {
		for n := range k {
			if clients[sender].out.outcome[n] != outAcked {
				continue
			}
			var worst int64
			complete := true
			for _, c := range clients {
				if c.idx == sender {
					continue
				}
				for _, st := range c.streams {
					if st.sender == sender {
						if st.counts[n] == 0 {
							complete = false
						} else {
							worst = max(worst, st.lat[n])
						}
					}
				}
			}
			if complete {
				fan = append(fan, worst)
			}
		}
	}
	fo := summarize(fan)
	res.FanOut = &fo
	return res, nil
}

// ---------------------------------------------------------------- idle

// runIdle: -conns authenticated sockets, -conns-per-user per account, opened
// as fast as -dial-concurrency allows, then held for -hold with pings on a sample.
func runIdle(ctx context.Context, e *env) (*result, error) {
	cfg := e.cfg
	res := newResult("idle", e)
	per := max(cfg.connsPerUser, 1)
	nUsers := (cfg.conns + per - 1) / per
	res.Config = map[string]any{"conns": cfg.conns, "conns_per_user": per, "users": nUsers,
		"dial_concurrency": cfg.dialConc, "hold": cfg.hold.String(), "ping_every_nth": cfg.pingSample}
	setupStart := time.Now()
	prefix := e.prefix("i")
	users, err := createUsers(ctx, e.api, e.srv, prefix, nUsers, cfg.setupConc)
	if err != nil {
		return nil, fmt.Errorf("idle setup: %w", err)
	}
	res.SetupSec = time.Since(setupStart).Seconds()
	owners := make([]*user, cfg.conns)
	for i := range owners {
		owners[i] = users[i/per]
	}
	res.Users = nUsers

	time.Sleep(2 * time.Second) // let the server settle after setup before the baseline
	m := e.measure()
	idle := &idleFigures{Conns: cfg.conns}
	res.Idle = idle
	r := newRun(prefix)
	start := time.Now()
	clients, fails := dialAll(ctx, r, e.srv.addr, owners, cfg.dialConc, "idle: sockets", nil)
	defer closeAll(r, clients)
	idle.HandshakeSec = round3(time.Since(start).Seconds())
	ready, sends := waitReady(ctx, clients, 3*time.Second, 60*time.Second)
	idle.ConnectSec = round3(time.Since(start).Seconds())
	if sends {
		idle.Ready = ready
	} else {
		idle.Ready = -1
		idle.ConnectSec = idle.HandshakeSec
		res.Notes = append(res.Notes, "the server sends no ready frame: connected means the handshake was done")
	}
	addCounts(res.Errors, fails)
	for _, c := range clients {
		if c != nil {
			idle.Connected++
		}
	}
	res.Sockets = idle.Connected
	if st, ok := readProc(e.srv.pid); ok {
		idle.RSSAfterConnectKiB = st.RSSKiB
	}

	// Hold: every second, ping every pingSample-th socket; count the pongs.
	holdEnd := time.Now().Add(cfg.hold)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	k := 0
	for time.Now().Before(holdEnd) && ctx.Err() == nil {
		for i := 0; i < len(clients); i += max(cfg.pingSample, 1) {
			if c := clients[i]; c != nil && c.alive() {
				if err := c.ping(k); err != nil {
					res.Errors["ping write: "+truncate(err.Error(), 60)]++
				} else {
					idle.PingsSent++
				}
			}
		}
		k++
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	time.Sleep(500 * time.Millisecond) // the last pongs
	for _, c := range clients {
		if c == nil {
			continue
		}
		idle.Pongs += int(c.pongs.Load())
		if c.alive() {
			idle.AliveAfterHold++
		}
	}
	m.finish(res)
	if m.ok {
		idle.RSSBeforeKiB = res.Server.RSSBeforeKiB
		idle.RSSAfterHoldKiB = res.Server.RSSAfterKiB
		if idle.Connected > 0 {
			d := float64(max(idle.RSSAfterConnectKiB, idle.RSSAfterHoldKiB) - idle.RSSBeforeKiB)
			idle.PerConnKiB = math.Round(d/float64(idle.Connected)*10) / 10
		}
	}
	closeAll(r, clients)
	for _, c := range clients {
		if c != nil && c.closeErr != nil {
			res.Errors[closeReason(c.closeErr)]++
		}
	}
	return res, nil
}

// ready waits for the server's "ready" on every socket before anything is sent:
// only then is a socket sure to receive every message.
func (e *env) ready(ctx context.Context, res *result, clients []*client) error {
	n, sends := waitReady(ctx, clients, 3*time.Second, 30*time.Second)
	switch {
	case !sends:
		res.Notes = append(res.Notes, "the server sends no ready frame: sending began 1 s after the handshakes")
	case n < len(clients):
		return fmt.Errorf("%d of %d sockets got no ready frame within 30 s", len(clients)-n, len(clients))
	}
	return nil
}

// ---------------------------------------------------------------- sending

type plan struct {
	messages   int
	rate       float64       // msgs/s over all senders; 0: paced by acks
	interval   time.Duration // ack-paced: pause after each ack
	ackTimeout time.Duration // ack-paced: give up a sender that waits longer for a credit
}

// sendStats is what the senders did.
type sendStats struct {
	sent        int64
	first, last int64   // run clock of the first and last send
	lag         []int64 // fixed rate: how late each send was against its schedule
	errors      map[string]int
}

// sendAll runs one goroutine per sender and waits for them.
func sendAll(ctx context.Context, r *run, senders []*client, p plan) sendStats {
	var (
		mu  sync.Mutex
		out = sendStats{first: math.MaxInt64, errors: map[string]int{}}
		wg  sync.WaitGroup
	)
	start := r.clock() + int64(50*time.Millisecond)
	total := len(senders)
	for i, c := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				lag         []int64
				first, last int64 = math.MaxInt64, 0
				fail        string
			)
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			sleepUntil(r, start)
		loop:
			for n := 0; n < p.messages; n++ {
				var at int64
				if p.rate > 0 {
					// Sender i's slot in a schedule of p.rate sends a second over all.
					period := float64(total) / p.rate * 1e9
					at = start + int64(float64(i)/p.rate*1e9) + int64(float64(n)*period)
					sleepUntil(r, at)
					if ctx.Err() != nil {
						break
					}
					lag = append(lag, r.clock()-at)
				} else {
					timer.Reset(p.ackTimeout)
					select {
					case <-c.credits:
						if !timer.Stop() {
							<-timer.C
						}
					case <-timer.C:
						fail = "no ack within " + p.ackTimeout.String()
						break loop
					case <-ctx.Done():
						break loop
					}
					if n > 0 && p.interval > 0 {
						time.Sleep(p.interval)
					}
					at = r.clock()
				}
				if err := c.send(n, at); err != nil {
					fail = "write: " + truncate(err.Error(), 60)
					break
				}
				first, last = min(first, at), max(last, at)
			}
			mu.Lock()
			defer mu.Unlock()
			out.sent += int64(c.out.sent)
			out.first, out.last = min(out.first, first), max(out.last, last)
			out.lag = append(out.lag, lag...)
			if fail != "" {
				out.errors["sender stopped: "+fail]++
			}
		}()
	}
	wg.Wait()
	return out
}

func sleepUntil(r *run, at int64) {
	if d := time.Duration(at - r.clock()); d > 0 {
		time.Sleep(d)
	}
}

// waitAnswers waits until every sent message has an ack or an error, or for at most d.
func waitAnswers(ctx context.Context, r *run, sent int64, d time.Duration) {
	waitFor(ctx, d, func() bool { return r.acked.Load()+r.failed.Load() >= sent })
}

// waitDeliveries waits until the first arrivals reach expected(), or for at most d.
func waitDeliveries(ctx context.Context, r *run, expected func() int64, d time.Duration) {
	waitFor(ctx, d, func() bool { return r.delivered.Load() >= expected() })
}

func waitFor(ctx context.Context, d time.Duration, done func() bool) {
	deadline := time.Now().Add(d)
	for !done() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// finishMessages does the accounting of a messaging scenario, once every
// reader has stopped.
func finishMessages(res *result, r *run, clients []*client, sp sendStats) {
	bySender := map[int]*outbox{}
	for _, c := range clients {
		if c != nil && c.out != nil {
			bySender[c.idx] = c.out
		}
	}
	var (
		lats, ackLats []int64
		t             tally
		lastRecv      int64
	)
	for _, c := range clients {
		if c == nil {
			continue
		}
		for _, st := range c.streams {
			lats = t.add(st, bySender[st.sender], lats)
		}
		res.OutOfOrder += c.outOfOrder
		res.Unexpected += c.unexpected + c.badFrames
		lastRecv = max(lastRecv, c.lastRecv)
		addCounts(res.Errors, c.errCodes)
		if c.closeErr != nil {
			res.Errors[closeReason(c.closeErr)]++
		}
		if o := c.out; o != nil {
			res.Sent += o.sent
			for n, oc := range o.outcome {
				switch oc {
				case outAcked:
					res.Acked++
					ackLats = append(ackLats, o.ackLat[n])
				case outFailed:
					res.Failed++
				}
			}
		}
	}
	res.Unanswered = res.Sent - res.Acked - res.Failed
	res.tally = t
	res.Latency = summarize(lats)
	res.AckLatency = summarize(ackLats)
	addCounts(res.Errors, sp.errors)
	if sp.sent > 0 && sp.last > sp.first {
		res.SendSec = round3(float64(sp.last-sp.first) / 1e9)
		res.OfferedPerSec = math.Round(float64(sp.sent) / res.SendSec)
	}
	if sp.sent > 0 && lastRecv > sp.first {
		res.WindowSec = round3(float64(lastRecv-sp.first) / 1e9)
		res.DeliveredPerSec = math.Round(float64(t.Delivered) / res.WindowSec)
	}
	if len(sp.lag) > 0 {
		l := summarize(sp.lag)
		res.SendLag = &l
	}
}

// ---------------------------------------------------------------- measuring

// measurement takes the server's and the tool's figures around a phase.
type measurement struct {
	e              *env
	ok             bool
	before         procStats
	dbBefore       procStats
	dbOK           bool
	toolU, toolS   float64
	warns, errs    int
	busy, steal    float64
	load           float64
	startedAt      time.Time
	logSamplesPrev map[string]int
}

func (e *env) measure() *measurement {
	m := &measurement{e: e, startedAt: time.Now()}
	m.before, m.ok = readProc(e.srv.pid)
	m.dbBefore, m.dbOK = readProc(e.srv.dbPID)
	m.toolU, m.toolS, _ = selfCPU()
	m.busy, m.steal, m.load = machineBusy()
	m.warns, m.errs, m.logSamplesPrev = e.srv.logs.counts()
	return m
}

func (m *measurement) finish(res *result) {
	res.MeasuredSec = round3(time.Since(m.startedAt).Seconds())
	if after, ok := readProc(m.e.srv.pid); ok && m.ok {
		res.Server.RSSBeforeKiB = m.before.RSSKiB
		res.Server.RSSAfterKiB = after.RSSKiB
		res.Server.PeakKiB = after.PeakKiB
		res.Server.CPUSec = round3(after.CPUSec - m.before.CPUSec)
	} else {
		m.ok = false
		res.Notes = append(res.Notes, "no server pid: no RSS or CPU figures (give -server-pid when attaching)")
	}
	u, s, rss := selfCPU()
	res.Tool = toolFigures{CPUUserSec: round3(u - m.toolU), CPUSysSec: round3(s - m.toolS), MaxRSSKiB: rss}
	busy, steal, load := machineBusy()
	res.Machine = machineFigures{CPUs: runtime.NumCPU(), BusySec: round3(busy - m.busy),
		StealSec: round3(steal - m.steal), LoadBefore: m.load, LoadAfter: load}
	if db, ok := readProc(m.e.srv.dbPID); ok && m.dbOK {
		res.Machine.DBCPUSec = round3(db.CPUSec - m.dbBefore.CPUSec)
		res.Machine.DBRSSKiB = db.RSSKiB
	}
	if m.ok {
		res.Machine.OtherSec = round3(max(0, res.Machine.BusySec-res.Server.CPUSec-res.Tool.CPUUserSec-res.Tool.CPUSysSec-res.Machine.DBCPUSec))
	}
	w, e, samples := m.e.srv.logs.counts()
	res.Server.LogWarnings, res.Server.LogErrors = w-m.warns, e-m.errs
	for k, v := range samples {
		if d := v - m.logSamplesPrev[k]; d > 0 {
			if res.Server.LogKinds == nil {
				res.Server.LogKinds = map[string]int{}
			}
			res.Server.LogKinds[k] = d
		}
	}
}

func addCounts(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
