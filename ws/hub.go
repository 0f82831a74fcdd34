// Package ws is LeChat's WebSocket layer: a melody hub that authenticates the
// handshake, keeps a user → sessions index for delivery, decodes client frames
// and hands them to the chat service, and turns service events into frames.
package ws

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/olahol/melody"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"lechat/model"
	"lechat/service"
)

// Config tunes the hub.
type Config struct {
	MaxFrameBytes  int64         // a larger client frame closes the socket (1009)
	QueueSize      int           // frames queued per socket; a socket whose queue overflows is cut off
	WriteWait      time.Duration // a write that takes longer fails and closes the socket
	PongWait       time.Duration // a socket silent for longer is closed
	PingPeriod     time.Duration // server pings; must be shorter than PongWait
	HeartbeatEvery time.Duration // how often this node refreshes its socket rows and expires dead ones
	RateLimit      bool          // limit frames per socket
	FramesPerSec   float64
	FrameBurst     int
	AllowedOrigins []string // browser origins allowed besides the server's own; "*" for any

	// Bus carries events to the other nodes of a cluster; nil: LocalBus (one node).
	Bus Bus
	// Metrics counts into main's Prometheus registry; nil: counted nowhere.
	Metrics *Metrics
}

// DefaultConfig is what a node runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		MaxFrameBytes:  64 << 10,
		QueueSize:      256,
		WriteWait:      10 * time.Second,
		PongWait:       60 * time.Second,
		PingPeriod:     25 * time.Second,
		HeartbeatEvery: 20 * time.Second,
		RateLimit:      true,
		FramesPerSec:   20,
		FrameBurst:     60,
	}
}

// Hub serves /ws and implements service.Notifier.
type Hub struct {
	m        *melody.Melody
	cfg      Config
	log      *slog.Logger
	accounts *service.Accounts
	chat     *service.Chat
	sockets  *service.Sockets
	shards   [64]shard
	bus      Bus
	met      *Metrics
	// children of met's vectors, looked up once
	delivered map[string]prometheus.Counter
	latency   map[string]prometheus.Observer

	stop      chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
	busStop   context.CancelFunc // ends the bus's Run
	busDone   chan struct{}      // closed when Run has returned
}

var _ service.Notifier = (*Hub)(nil)

type shard struct {
	mu    sync.RWMutex
	users map[uint64][]*melody.Session
}

// conn is what the hub knows of one socket.
type conn struct {
	id      string
	userID  uint64
	tokenID string
	token   string        // to check again once registered: a logout may have come meanwhile
	limiter *rate.Limiter // nil: no limit
	evicted atomic.Bool
	since   time.Time // when the socket was registered

	// Frames for the socket that come before its ready frame wait here, so that
	// ready is always the first frame and nothing published after the socket
	// was registered is lost.
	ready   atomic.Bool
	mu      sync.Mutex
	pending [][]byte
}

// push queues frame b on the socket, or holds it until the ready frame is out.
func (c *conn) push(s *melody.Session, b []byte, max int) {
	if c.ready.Load() {
		s.Write(b)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ready.Load():
		s.Write(b)
	case len(c.pending) < max:
		c.pending = append(c.pending, b)
	default:
		c.evicted.Store(true) // as a queue overflow: cut off once ready is out
	}
}

// markReady queues the ready frame, then what waited for it.
func (c *conn) markReady(s *melody.Session, ready []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.Write(ready)
	for _, b := range c.pending {
		s.Write(b)
	}
	c.pending = nil
	c.ready.Store(true)
}

const connKey = "conn"

func connOf(s *melody.Session) *conn {
	c, _ := s.Keys[connKey].(*conn)
	return c
}

// New returns a hub; Start begins its heartbeat.
func New(cfg Config, accounts *service.Accounts, chat *service.Chat, sockets *service.Sockets, log *slog.Logger) *Hub {
	if cfg.Bus == nil {
		cfg.Bus = LocalBus{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	h := &Hub{m: melody.New(), cfg: cfg, log: log, accounts: accounts, chat: chat, sockets: sockets,
		bus: cfg.Bus, met: cfg.Metrics, stop: make(chan struct{}), busStop: func() {}}
	h.delivered = map[string]prometheus.Counter{}
	h.latency = map[string]prometheus.Observer{}
	for _, p := range []string{pathLocal, pathRemote} {
		h.delivered[p] = h.met.Delivered.WithLabelValues(p)
		h.latency[p] = h.met.Latency.WithLabelValues(p)
	}
	for i := range h.shards {
		h.shards[i].users = map[uint64][]*melody.Session{}
	}
	h.m.Config.MaxMessageSize = cfg.MaxFrameBytes
	h.m.Config.MessageBufferSize = cfg.QueueSize
	h.m.Config.WriteWait = cfg.WriteWait
	h.m.Config.PongWait = cfg.PongWait
	h.m.Config.PingPeriod = cfg.PingPeriod
	h.m.Upgrader.ReadBufferSize = 1024
	h.m.Upgrader.WriteBufferSize = 1024
	h.m.Upgrader.WriteBufferPool = &sync.Pool{}
	h.m.Upgrader.CheckOrigin = h.checkOrigin
	h.m.Upgrader.Error = upgradeError
	h.m.HandleConnect(h.connected)
	h.m.HandleDisconnect(h.disconnected)
	h.m.HandleMessage(h.received)
	h.m.HandleMessageBinary(h.receivedBinary)
	h.evictSlowConsumers()
	return h
}

// Start cleans this node's rows left by an earlier run, starts the heartbeat
// that keeps its rows alive and expires those of dead nodes, and starts
// receiving the other nodes' events from the bus.
func (h *Hub) Start(ctx context.Context) error {
	if err := h.sockets.CleanNode(ctx); err != nil {
		return err
	}
	h.done.Add(1)
	go h.heartbeat()
	// The bus outlives ctx (main's signal context): while the sockets close,
	// their presence changes must still reach the other nodes. Close stops it.
	busCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	h.busStop, h.busDone = stop, make(chan struct{})
	go func() {
		defer close(h.busDone)
		if err := h.bus.Run(busCtx, h.fromBus); err != nil {
			h.log.Error("cluster bus stopped", "err", err)
		}
	}()
	return nil
}

// BusHealthy reports whether events reach the other nodes (always, on one node).
func (h *Hub) BusHealthy() bool { return h.bus.Healthy() }

func (h *Hub) heartbeat() {
	defer h.done.Done()
	t := time.NewTicker(h.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), h.cfg.HeartbeatEvery)
			if err := h.sockets.Heartbeat(ctx); err != nil {
				h.log.Warn("socket heartbeat failed", "err", err)
			}
			if err := h.sockets.Expire(ctx); err != nil {
				h.log.Warn("expiring dead sockets failed", "err", err)
			}
			cancel()
		}
	}
}

// Close tells every client the server is going away (1001, so they reconnect
// elsewhere at once), stops the heartbeat, waits a little for the sockets to
// be unregistered (their presence changes go out over the bus), removes this
// node's socket rows and stops the bus after what it still has queued.
func (h *Hub) Close(ctx context.Context) {
	h.closeOnce.Do(func() {
		close(h.stop)
		h.done.Wait()
		h.m.CloseWithMsg(melody.FormatCloseMessage(melody.CloseGoingAway, "server shutting down"))
		h.waitUnregistered(ctx, 3*time.Second)
		if err := h.sockets.CleanNode(ctx); err != nil {
			h.log.Warn("socket rows left behind", "err", err)
		}
		h.busStop()
		if h.busDone != nil {
			select {
			case <-h.busDone:
			case <-ctx.Done():
			}
		}
	})
}

// waitUnregistered waits until no socket is left in the index, for at most d.
func (h *Hub) waitUnregistered(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for h.registered() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// registered counts the sockets in the index.
func (h *Hub) registered() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		for _, list := range sh.users {
			n += len(list)
		}
		sh.mu.RUnlock()
	}
	return n
}

// ServeHTTP authenticates the handshake (?token=, since browsers cannot set
// headers on a WebSocket) and upgrades; a bad token gets 401 without upgrade.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	sess, err := h.accounts.Authenticate(r.Context(), token)
	if err != nil {
		status := http.StatusUnauthorized
		if !errors.Is(err, model.ErrUnauthorized) {
			status = http.StatusServiceUnavailable
			h.log.ErrorContext(r.Context(), "websocket authentication failed", "err", err)
			err = model.Errorf(model.ErrUnavailable, "the server cannot check the token now: try again")
		}
		writeError(w, status, err)
		return
	}
	c := &conn{id: uuid.NewString(), userID: sess.UserID, tokenID: sess.TokenID, token: token}
	if h.cfg.RateLimit {
		c.limiter = rate.NewLimiter(rate.Limit(h.cfg.FramesPerSec), h.cfg.FrameBurst)
	}
	err = h.m.HandleRequestWithKeys(w, r, map[string]any{connKey: c})
	if errors.Is(err, melody.ErrClosed) {
		writeError(w, http.StatusServiceUnavailable, model.Errorf(model.ErrUnavailable, "the server is shutting down: reconnect"))
	} else if err != nil {
		h.log.DebugContext(r.Context(), "websocket upgrade failed", "err", err)
	}
}

// writeError answers a refused handshake with the API's error envelope.
func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lechat"`)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": model.Code(err), "message": model.ErrorMessage(err)}})
}

// upgradeError answers a request the WebSocket upgrade refused (a foreign
// origin, no upgrade headers) with the error envelope.
func upgradeError(w http.ResponseWriter, _ *http.Request, status int, reason error) {
	w.Header().Set("Sec-Websocket-Version", "13")
	kind := model.ErrInvalid
	msg := "this is a WebSocket endpoint: " + reason.Error()
	if status == http.StatusForbidden {
		kind, msg = model.ErrForbidden, "this origin may not open a socket here"
	}
	writeError(w, status, &model.Error{Kind: kind, Msg: msg})
}

// checkOrigin accepts clients without an Origin (apps, tools), the server's own
// origin, and the configured ones.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || slices.Contains(h.cfg.AllowedOrigins, "*") || slices.Contains(h.cfg.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func (h *Hub) shard(userID uint64) *shard { return &h.shards[userID%uint64(len(h.shards))] }

func (sh *shard) add(userID uint64, s *melody.Session) {
	sh.mu.Lock()
	sh.users[userID] = append(sh.users[userID], s)
	sh.mu.Unlock()
}

func (sh *shard) remove(userID uint64, s *melody.Session) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	list := slices.DeleteFunc(sh.users[userID], func(x *melody.Session) bool { return x == s })
	if len(list) == 0 {
		delete(sh.users, userID)
	} else {
		sh.users[userID] = list
	}
}

// sessions returns a copy of a user's local sessions, taken under the read lock.
func (sh *shard) sessions(userID uint64) []*melody.Session {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return slices.Clone(sh.users[userID])
}

// connected registers a socket, then tells the client it is ready: from then
// on every frame for the user reaches it, so a client resyncs after "ready".
func (h *Hub) connected(s *melody.Session) {
	c := connOf(s)
	c.since = time.Now()
	h.shard(c.userID).add(c.userID, s)
	h.met.Connections.Inc()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A logout between the handshake and now would otherwise leave this open.
	if _, err := h.accounts.Authenticate(ctx, c.token); errors.Is(err, model.ErrUnauthorized) {
		s.CloseWithMsg(melody.FormatCloseMessage(melody.ClosePolicyViolation, "token revoked"))
		return
	}
	if err := h.sockets.Connected(ctx, c.id, c.userID, c.tokenID); err != nil {
		h.log.Error("socket not recorded", "user_id", c.userID, "err", err)
	}
	b, err := json.Marshal(frame{Type: typeReady, Data: readyData{SocketID: c.id}})
	if err != nil {
		h.log.Error("encode ready frame", "err", err)
		return
	}
	c.markReady(s, b)
}

// readyData is the data of the ready frame.
type readyData struct {
	SocketID string `json:"socket_id"`
}

func (h *Hub) disconnected(s *melody.Session) {
	c := connOf(s)
	h.shard(c.userID).remove(c.userID, s)
	h.met.Connections.Dec()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.sockets.Disconnected(ctx, c.id, c.userID); err != nil {
		h.log.Error("socket row not removed", "user_id", c.userID, "err", err)
	}
}

// evictSlowConsumers marks a session whose queue overflowed and closes it once the
// queue has room for the close frame; nothing more is queued for it meanwhile.
func (h *Hub) evictSlowConsumers() {
	h.m.HandleError(func(s *melody.Session, err error) {
		if errors.Is(err, melody.ErrMessageBufferFull) {
			if c := connOf(s); c != nil && !c.evicted.Swap(true) {
				h.met.QueueDrops.Inc()
				h.log.Warn("slow consumer cut off", "user_id", c.userID)
			}
			// not s.Close(): it enqueues and re-enters this handler
		}
	})
	h.m.HandleSentMessage(func(s *melody.Session, _ []byte) {
		if c := connOf(s); c != nil && c.evicted.Load() {
			s.CloseWithMsg(melody.FormatCloseMessage(melody.CloseTryAgainLater, "slow consumer"))
		}
	})
}

// frame is every frame on the wire.
type frame struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	Data any    `json:"data"`
}

// Publish implements service.Notifier: it encodes the event once, queues it on
// every local socket of the users except the socket the event came from, and
// hands the same bytes to the bus for the other nodes. It never blocks on a
// client, nor on the bus.
func (h *Hub) Publish(ctx context.Context, userIDs []uint64, ev model.Event) {
	at := time.Now()
	if ev.Type == model.EventSessionRevoked {
		rt, ok := ev.Data.(model.RevokedTokens)
		if !ok {
			return
		}
		h.revoke(userIDs, rt)
		h.toBus(ctx, Envelope{Kind: KindRevoke, UserIDs: userIDs, Revoke: rt, At: at})
		return
	}
	b, err := json.Marshal(frame{Type: ev.Type, Data: ev.Data})
	if err != nil {
		h.log.ErrorContext(ctx, "encode event", "type", ev.Type, "err", err)
		return
	}
	origin := model.SocketID(ctx)
	h.deliver(userIDs, b, origin, at, pathLocal)
	h.toBus(ctx, Envelope{Kind: KindFrame, UserIDs: userIDs, Frame: b, Origin: origin, At: at})
}

// toBus hands env to the other nodes; a failure is the bus's to count and log.
func (h *Hub) toBus(ctx context.Context, env Envelope) {
	if _, single := h.bus.(LocalBus); single || len(env.UserIDs) == 0 {
		return
	}
	_ = h.bus.Publish(ctx, env)
}

// deliver queues frame b on every local socket of the users but origin.
func (h *Hub) deliver(userIDs []uint64, b []byte, origin string, at time.Time, path string) {
	delivered, latency := h.delivered[path], h.latency[path]
	for _, uid := range userIDs {
		for _, s := range h.shard(uid).sessions(uid) {
			if c := connOf(s); c.id != origin && !c.evicted.Load() {
				c.push(s, b, h.cfg.QueueSize)
				delivered.Inc()
				latency.Observe(time.Since(at).Seconds())
			}
		}
	}
}

// fromBus handles an envelope from another node (or the bus's own resync).
func (h *Hub) fromBus(env Envelope) {
	switch env.Kind {
	case KindFrame:
		h.deliver(env.UserIDs, env.Frame, env.Origin, env.At, pathRemote)
	case KindRevoke:
		h.revoke(env.UserIDs, env.Revoke)
	case KindResync:
		h.resync(env)
	}
}

// clockSkew is how far two nodes' clocks may disagree when a resync envelope's
// time is compared with a socket's.
const clockSkew = 500 * time.Millisecond

// resync closes, with 1012, the sockets (of env's users, or all) registered
// before frames for them were lost, so that their clients reconnect and fetch
// what they missed. Sockets registered later resynced after their "ready".
func (h *Hub) resync(env Envelope) {
	before := env.At.Add(clockSkew)
	closeOld := func(list []*melody.Session) {
		for _, s := range list {
			if c := connOf(s); c.since.Before(before) && !s.IsClosed() {
				h.met.Resyncs.Inc()
				s.CloseWithMsg(melody.FormatCloseMessage(melody.CloseServiceRestart, "events were lost: reconnect and resync"))
			}
		}
	}
	if env.All {
		for i := range h.shards {
			sh := &h.shards[i]
			sh.mu.RLock()
			var list []*melody.Session
			for _, l := range sh.users {
				list = append(list, l...)
			}
			sh.mu.RUnlock()
			closeOld(list)
		}
		return
	}
	for _, uid := range env.UserIDs {
		closeOld(h.shard(uid).sessions(uid))
	}
}

// revoke closes the sockets of revoked tokens.
func (h *Hub) revoke(userIDs []uint64, rt model.RevokedTokens) {
	for _, uid := range userIDs {
		for _, s := range h.shard(uid).sessions(uid) {
			c := connOf(s)
			if (rt.AllBut != "" && c.tokenID != rt.AllBut) || slices.Contains(rt.TokenIDs, c.tokenID) {
				s.CloseWithMsg(melody.FormatCloseMessage(melody.ClosePolicyViolation, "token revoked"))
			}
		}
	}
}

// Connections returns how many sockets this node holds.
func (h *Hub) Connections() int { return h.m.Len() }
