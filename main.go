// Command lechat is the LeChat server: REST API, WebSocket and the web app in one
// binary. Configuration: config.yaml (LECHAT_CONFIG) and LECHAT_* variables.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
	_ "time/tzdata" // the robot's time zone, on machines without a zone database

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"lechat/api"
	"lechat/frontend"
	"lechat/migrations"
	"lechat/service"
	"lechat/ws"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lechat:", err)
		os.Exit(1)
	}
}

func run() error {
	path := os.Getenv("LECHAT_CONFIG")
	if path == "" {
		path = "config.yaml"
	}
	cfg, err := loadConfig(path, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	db, dialect, err := service.OpenDB(ctx, service.DBConfig{Driver: cfg.Database.Driver,
		DSN: cfg.Database.DSN, DataDir: cfg.DataDir, MaxOpenConns: cfg.Database.MaxOpenConns}, log)
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if err := migrations.Apply(ctx, sqlDB, dialect, log); err != nil {
		return err
	}

	mailer, err := newMailer(cfg, log)
	if err != nil {
		return err
	}
	accounts, err := service.NewAccounts(db, service.AccountsConfig{
		JWTSecret:      cfg.Auth.JWTSecret,
		TokenTTL:       cfg.Auth.TokenTTL,
		ActivationTTL:  cfg.Auth.ActivationTTL,
		ResendCooldown: cfg.Auth.ResendCooldown,
		BcryptCost:     cfg.Auth.BcryptCost,
		PublicURL:      cfg.HTTP.PublicURL,
	}, mailer, log)
	if err != nil {
		return err
	}

	nodeID := cfg.Cluster.NodeID
	if nodeID == "" {
		host, _ := os.Hostname()
		nodeID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	uploads := service.NewUploads(db, service.LocalStorage{Dir: filepath.Join(cfg.DataDir, "uploads")},
		service.UploadsConfig{MaxBytes: cfg.Uploads.MaxBytes, MaxPixels: cfg.Uploads.MaxPixels,
			Workers: cfg.Uploads.Workers}, log)
	accounts.Images = uploads
	friends := service.NewFriends(db, log)
	groups := service.NewGroups(db, service.GroupsConfig{MaxMembers: cfg.Groups.MaxMembers}, log)
	groups.Images = uploads
	chat := service.NewChat(db, log)
	chat.Images = uploads
	batch := service.BatchConfig{Workers: cfg.Realtime.SendWorkers, MaxBatch: cfg.Realtime.SendBatch}
	if dialect == "sqlite" {
		batch.Workers = 1 // one writer at a time anyway
	}
	chat.Start(batch)
	defer chat.Close()
	robot, err := service.NewRobot(db, chat, newBot(cfg), service.RobotConfig{ContextMessages: cfg.Robot.ContextMessages}, log)
	if err != nil {
		return err
	}
	defer robot.Close()
	sockets := service.NewSockets(db, nodeID, cfg.Realtime.StaleAfter, log)
	friends.Sockets = sockets

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := ws.NewMetrics(reg)
	bus, closeBus, err := newBus(cfg, nodeID, metrics, log)
	if err != nil {
		return err
	}
	defer closeBus()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lechat_bus_up",
		Help: "1 while the cluster bus reaches the other nodes (always 1 on a single node)."},
		func() float64 {
			if bus.Healthy() {
				return 1
			}
			return 0
		}))

	rt := cfg.Realtime
	hub := ws.New(ws.Config{
		MaxFrameBytes:  rt.MaxFrameBytes,
		QueueSize:      rt.QueueSize,
		WriteWait:      rt.WriteWait,
		PongWait:       rt.PongWait,
		PingPeriod:     rt.PingPeriod,
		HeartbeatEvery: rt.HeartbeatEvery,
		RateLimit:      cfg.HTTP.RateLimits.Enabled == "on",
		FramesPerSec:   rt.FramesPerSec,
		FrameBurst:     rt.FrameBurst,
		AllowedOrigins: cfg.HTTP.CORSOrigins,
		Bus:            bus,
		Metrics:        metrics,
	}, accounts, chat, sockets, log)
	for _, n := range []*service.Notifier{&accounts.Notifier, &friends.Notifier, &groups.Notifier, &chat.Notifier, &sockets.Notifier} {
		*n = hub
	}
	if err := hub.Start(ctx); err != nil {
		return err
	}

	app, built := frontend.App()
	if !built {
		log.Warn("the web app was not built: pages show how to build it; the API works (run make run to build it)")
	}
	rl := cfg.HTTP.RateLimits
	opts := api.Options{
		Log:            log,
		Accounts:       accounts,
		Friends:        friends,
		Groups:         groups,
		Chat:           chat,
		Uploads:        uploads,
		WebSocket:      hub,
		Health:         sqlDB.PingContext,
		Metrics:        metricsHandler(cfg, reg),
		Frontend:       app,
		UnbuiltPage:    frontend.UnbuiltPage(),
		BodyLimit:      cfg.HTTP.BodyLimit,
		CORSOrigins:    cfg.HTTP.CORSOrigins,
		TrustedProxies: cfg.HTTP.TrustedProxies,
		RateLimits: api.RateLimits{
			Enabled:  rl.Enabled == "on",
			Register: api.Limit(rl.Register),
			Login:    api.Limit(rl.Login),
			Resend:   api.Limit(rl.Resend),
		},
	}
	if err != nil {
		return err
	}
	if cfg.Cluster.RedisURL != "" {
		opts.BusHealthy = hub.BusHealthy
	}
	handler, err := api.New(opts)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              cfg.HTTP.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("LeChat is listening", "addr", cfg.HTTP.Addr, "public_url", cfg.HTTP.PublicURL,
		"mode", cfg.Mode, "database", dialect, "web_app_built", built, "node_id", nodeID,
		"cluster", cfg.Cluster.RedisURL != "")

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Sockets first (1001 going away: clients reconnect to another node at once;
	// hijacked connections are not Shutdown's), then the bus after what it holds.
	hub.Close(shutdownCtx)
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func newLogger(cfg Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.Log.Format
	if format == "" {
		format = "text"
		if cfg.Mode == "production" {
			format = "json"
		}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// newBus is the cluster bus: Redis pub/sub when a Redis URL is set, else the
// in-process bus of a single node. close releases it after the hub has stopped.
func newBus(cfg Config, nodeID string, metrics *ws.Metrics, log *slog.Logger) (bus ws.Bus, close func(), err error) {
	if cfg.Cluster.RedisURL == "" {
		return ws.LocalBus{}, func() {}, nil
	}
	rb, err := ws.NewRedisBus(ws.RedisConfig{URL: cfg.Cluster.RedisURL, Channel: cfg.Cluster.Channel,
		NodeID: nodeID, Queue: cfg.Cluster.BusQueue, Metrics: metrics, Log: log})
	if err != nil {
		return nil, nil, err
	}
	return rb, func() { rb.Close() }, nil
}

// metricsHandler serves the registry at /metrics, unless metrics are off.
func metricsHandler(cfg Config, reg *prometheus.Registry) http.Handler {
	if cfg.Metrics.Enabled != "on" {
		return nil
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// newBot is the LLM robot when an endpoint is configured, else the rule robot.
func newBot(cfg Config) service.Bot {
	if cfg.Robot.LLMURL != "" {
		return service.NewLLMBot(service.LLMConfig{URL: cfg.Robot.LLMURL, Model: cfg.Robot.LLMModel,
			Key: cfg.Robot.LLMKey, Timeout: cfg.Robot.LLMTimeout})
	}
	loc := time.Local
	if cfg.Robot.TimeZone != "" {
		loc, _ = time.LoadLocation(cfg.Robot.TimeZone) // validated already
	}
	return &service.RuleBot{Location: loc}
}

// newMailer sends through SMTP when a host is configured, else into the log.
func newMailer(cfg Config, log *slog.Logger) (service.Mailer, error) {
	if cfg.SMTP.Host == "" {
		log.Warn("no SMTP host is configured: activation mails are written to this log")
		return &service.LogMailer{Log: log}, nil
	}
	return service.NewSMTPMailer(service.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port,
		Username: cfg.SMTP.Username, Password: cfg.SMTP.Password, TLS: cfg.SMTP.TLS,
		From: cfg.SMTP.From, Timeout: cfg.SMTP.Timeout})
}
