// Command lechat-bench is LeChat's load tool. It creates users over REST,
// befriends them and drives a server over real WebSockets:
//
//   - pairs: -users users in pairs of friends, one socket each, both sending
//     -messages to each other at a fixed total -rate (msgs/s) or, with -rate 0,
//     as fast as acks allow with -window unacked messages per sender;
//   - group: one group of -group-size members, all online; -group-senders send
//     -group-messages each, and every member's delivery is timed;
//   - idle: -conns authenticated sockets (-conns-per-user per account) opened as
//     fast as -dial-concurrency allows, held for -hold with pings on a sample.
//
// It reports sent, acked, delivered against expected, duplicates, lost,
// out-of-order, delivered msgs/s, latency percentiles, the server's RSS and CPU,
// and its own CPU (it shares the machine with the server).
//
// By default it starts the server binary (-server-bin, built with
// `go build -o bin/lechat .`) itself on a free loopback port with a temporary
// data directory, rate limits off and mails in its log, from which it reads the
// activation links. With -addr it attaches to a running server instead: give
// -server-log (the file the server logs to, for activation links) and
// -server-pid (for RSS). Only loopback addresses are accepted.
//
//	lechat-bench -scenario pairs -users 1000 -messages 50
//	lechat-bench -scenario pairs -users 1000 -messages 30 -rate 2000
//	lechat-bench -scenario group -group-size 500 -db mysql -dsn 'root:@tcp(127.0.0.1:3306)/bench_x'
//	lechat-bench -scenario idle -conns 10000
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

type config struct {
	scenarios []string

	serverBin  string
	db, dsn    string
	addr       string
	serverLog  string
	serverPID  int
	bcryptCost int
	keep       bool
	serverEnv  envList

	users    int
	messages int
	rate     float64
	window   int

	groupSize     int
	groupSenders  int
	groupMessages int
	groupInterval time.Duration

	conns        int
	connsPerUser int
	hold         time.Duration
	pingSample   int

	setupConc  int
	dialConc   int
	drain      time.Duration
	ackTimeout time.Duration
	timeout    time.Duration
	jsonPath   string
	quiet      bool
}

func main() {
	if err := bench(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lechat-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("lechat-bench", flag.ContinueOnError)
	scenario := fs.String("scenario", "pairs", "what to run: pairs, group, idle, all, or a comma-separated list")

	fs.StringVar(&c.serverBin, "server-bin", "bin/lechat", "server binary to start (when -addr is not given)")
	fs.StringVar(&c.db, "db", "sqlite", "database of the started server: sqlite or mysql")
	fs.StringVar(&c.dsn, "dsn", "", "LECHAT_DB_DSN of the started server (required with -db mysql)")
	fs.StringVar(&c.addr, "addr", "", "attach to a running server at this loopback host:port instead of starting one")
	fs.StringVar(&c.serverLog, "server-log", "", "with -addr: the server's log file, read for activation links")
	fs.IntVar(&c.serverPID, "server-pid", 0, "with -addr: the server's pid, for RSS and CPU figures")
	fs.IntVar(&c.bcryptCost, "bcrypt-cost", 4, "auth.bcrypt_cost of the started server (setup speed only; logins are not measured)")
	fs.BoolVar(&c.keep, "keep", false, "keep the started server's temp dir (data and server.log)")
	fs.Var(&c.serverEnv, "server-env", "KEY=VALUE for the started server's environment, e.g. GOGC=50 (repeatable)")

	fs.IntVar(&c.users, "users", 1000, "pairs: users (even); each has one socket and sends to its pair")
	fs.IntVar(&c.messages, "messages", 50, "pairs: messages each user sends")
	fs.Float64Var(&c.rate, "rate", 0, "pairs: total msgs/s offered, spread evenly over the senders; 0: as fast as acks allow")
	fs.IntVar(&c.window, "window", 1, "pairs with -rate 0: unacked messages a sender may have outstanding")

	fs.IntVar(&c.groupSize, "group-size", 500, "group: members, owner included, all online")
	fs.IntVar(&c.groupSenders, "group-senders", 1, "group: members that send")
	fs.IntVar(&c.groupMessages, "group-messages", 20, "group: messages each sender sends")
	fs.DurationVar(&c.groupInterval, "group-interval", 100*time.Millisecond, "group: pause between one message's ack and the next message")

	fs.IntVar(&c.conns, "conns", 10000, "idle: sockets to open")
	fs.IntVar(&c.connsPerUser, "conns-per-user", 10, "idle: sockets per account (the server caps nothing per user)")
	fs.DurationVar(&c.hold, "hold", 10*time.Second, "idle: how long to hold the sockets open")
	fs.IntVar(&c.pingSample, "ping-every", 100, "idle: ping every n-th socket once a second while holding")

	fs.IntVar(&c.setupConc, "setup-concurrency", 16, "concurrent REST calls during setup")
	fs.IntVar(&c.dialConc, "dial-concurrency", 100, "concurrent WebSocket handshakes")
	fs.DurationVar(&c.drain, "drain", 15*time.Second, "after the last send: how long to wait for acks, then for deliveries")
	fs.DurationVar(&c.ackTimeout, "ack-timeout", 30*time.Second, "ack-paced senders stop after waiting this long for an ack")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "the whole run, setup included")
	fs.StringVar(&c.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(*scenario, ",") {
		switch s = strings.TrimSpace(s); s {
		case "all":
			c.scenarios = append(c.scenarios, "pairs", "group", "idle")
		case "pairs", "group", "idle":
			c.scenarios = append(c.scenarios, s)
		default:
			return c, fmt.Errorf("-scenario %q: want pairs, group, idle or all", s)
		}
	}
	switch {
	case c.db != "sqlite" && c.db != "mysql":
		return c, fmt.Errorf("-db %q: want sqlite or mysql", c.db)
	case c.users < 2 || c.users%2 != 0:
		return c, errors.New("-users must be even and at least 2")
	case c.messages < 1 || c.groupMessages < 1 || c.window < 1 || c.rate < 0:
		return c, errors.New("-messages, -group-messages and -window must be positive, -rate not negative")
	case c.conns < 1 || c.setupConc < 1 || c.dialConc < 1:
		return c, errors.New("-conns, -setup-concurrency and -dial-concurrency must be positive")
	case c.messages > 1_000_000 || c.users > 100_000 || c.conns > 200_000 || c.groupSize > 100_000:
		return c, errors.New("the counts are bounded: -messages ≤ 1e6, -users ≤ 1e5, -conns ≤ 2e5, -group-size ≤ 1e5")
	case c.addr == "" && (c.serverLog != "" || c.serverPID != 0):
		return c, errors.New("-server-log and -server-pid go with -addr")
	case c.addr != "" && len(c.serverEnv) > 0:
		return c, errors.New("-server-env is for a server the bench starts, not with -addr")
	case c.addr != "":
		if err := loopbackOnly(c.addr); err != nil {
			return c, err
		}
	}
	return c, nil
}

func bench(args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	quiet = cfg.quiet
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var srv *server
	if cfg.addr != "" {
		srv, err = attachServer(ctx, cfg.addr, cfg.serverLog, cfg.serverPID)
		if err == nil && cfg.serverLog == "" {
			logf("no -server-log: activation links cannot be read, so setup will fail unless the users exist")
		}
	} else {
		srv, err = startServer(ctx, startOptions{bin: cfg.serverBin, db: cfg.db, dsn: cfg.dsn,
			bcryptCost: cfg.bcryptCost, maxMembers: max(500, cfg.groupSize), keep: cfg.keep, env: cfg.serverEnv})
		if err == nil {
			logf("server pid %d on %s (%s), temp dir %s", srv.pid, srv.addr, cfg.db, srv.dir)
		}
	}
	if err != nil {
		return err
	}
	defer srv.stop()

	e := &env{cfg: cfg, srv: srv, api: newAPIClient(srv.addr, cfg.setupConc), runID: "b" + randomHex(4)}
	var results []*result
	for _, name := range cfg.scenarios {
		fn := map[string]func(context.Context, *env) (*result, error){"pairs": runPairs, "group": runGroup, "idle": runIdle}[name]
		logf("scenario %s", name)
		res, err := fn(ctx, e)
		if retries := e.api.takeRetries(); len(retries) > 0 {
			if res != nil {
				res.SetupRetries = retries
			} else {
				logf("setup calls retried after server errors: %v", retries)
			}
		}
		if res != nil {
			res.judge(cfg.rate)
			if !srv.alive() {
				res.Notes = append(res.Notes, fmt.Sprintf("the server exited during the run at %s: %v",
					srv.exitedAt.Format("15:04:05.000"), srv.err))
			}
			if err != nil {
				res.Notes = append(res.Notes, "aborted: "+err.Error())
			}
			printText(os.Stdout, res)
			results = append(results, res)
		}
		if err != nil {
			logf("scenario %s failed: %v", name, err)
			if !srv.alive() {
				logf("server log tail:\n%s", srv.logs.tailText())
			}
			if ctx.Err() != nil {
				break
			}
		}
	}
	u, s, rss := selfCPU()
	fmt.Printf("\ntool total: %.2f s user + %.2f s sys CPU, peak RSS %s\n", u, s, kib(rss))
	if cfg.jsonPath != "" {
		if err := writeJSON(cfg.jsonPath, append([]string{"lechat-bench"}, args...), results); err != nil {
			return err
		}
	}
	if len(results) < len(cfg.scenarios) {
		return errors.New("not every scenario ran to the end (see above)")
	}
	return ctx.Err()
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	*l = append(*l, v)
	return nil
}

var quiet bool

func logf(format string, args ...any) {
	if !quiet {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

// progress prints done/total every two seconds until the returned func is called.
func progress(what string, total int, done *atomic.Int64) func() {
	start := time.Now()
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				logf("%s: %d/%d", what, done.Load(), total)
			}
		}
	}()
	return func() {
		close(stop)
		<-finished
		logf("%s: %d/%d in %.1f s", what, done.Load(), total, time.Since(start).Seconds())
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sortStrings(s []string) { slices.Sort(s) }
