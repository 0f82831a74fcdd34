package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"lechat/service"
)

// Config is every setting of a LeChat node. Defaults come from defaultConfig, then
// config.yaml, then the LECHAT_* environment variables.
type Config struct {
	Mode     string         `yaml:"mode"` // dev or production
	DataDir  string         `yaml:"data_dir"`
	HTTP     HTTPConfig     `yaml:"http"`
	Database DatabaseConfig `yaml:"database"`
	Auth     AuthConfig     `yaml:"auth"`
	SMTP     SMTPConfig     `yaml:"smtp"`
	Log      LogConfig      `yaml:"log"`
	Groups   GroupsConfig   `yaml:"groups"`
	Realtime RealtimeConfig `yaml:"realtime"`
	Cluster  ClusterConfig  `yaml:"cluster"`
	Metrics  MetricsConfig  `yaml:"metrics"`
	Robot    RobotConfig    `yaml:"robot"`
	Uploads  UploadsConfig  `yaml:"uploads"`
}

type UploadsConfig struct {
	MaxBytes  int64 `yaml:"max_bytes"`  // largest image accepted
	MaxPixels int   `yaml:"max_pixels"` // largest width × height
	Workers   int   `yaml:"workers"`    // images decoded at once (memory: ~10 bytes a pixel each)
}

type RobotConfig struct {
	LLMURL          string        `yaml:"llm_url"`
	LLMModel        string        `yaml:"llm_model"`
	LLMKey          string        `yaml:"llm_key"`
	LLMTimeout      time.Duration `yaml:"llm_timeout"`
	ContextMessages int           `yaml:"context_messages"`
	TimeZone        string        `yaml:"time_zone"` // the rule robot tells the time here; empty: the server's
}

type GroupsConfig struct {
	MaxMembers int `yaml:"max_members"`
}

type RealtimeConfig struct {
	MaxFrameBytes  int64         `yaml:"max_frame_bytes"`
	QueueSize      int           `yaml:"queue_size"`
	FramesPerSec   float64       `yaml:"frames_per_sec"`
	FrameBurst     int           `yaml:"frame_burst"`
	PingPeriod     time.Duration `yaml:"ping_period"`
	PongWait       time.Duration `yaml:"pong_wait"`
	WriteWait      time.Duration `yaml:"write_wait"`
	HeartbeatEvery time.Duration `yaml:"heartbeat_every"`
	StaleAfter     time.Duration `yaml:"stale_after"`
	SendWorkers    int           `yaml:"send_workers"`
	SendBatch      int           `yaml:"send_batch"`
}

type ClusterConfig struct {
	NodeID string `yaml:"node_id"` // empty: host name + pid
	// RedisURL, when set, joins this node to a cluster: events reach the other
	// nodes over Redis pub/sub. Empty: one node, in-process bus.
	RedisURL string `yaml:"redis_url"`
	Channel  string `yaml:"channel"`   // the cluster's pub/sub channel (one per cluster sharing a Redis)
	BusQueue int    `yaml:"bus_queue"` // events waiting for Redis at most; more are dropped (and resynced)
}

type MetricsConfig struct {
	Enabled string `yaml:"enabled"` // on or off: Prometheus metrics at GET /metrics
}

type HTTPConfig struct {
	Addr           string           `yaml:"addr"`
	PublicURL      string           `yaml:"public_url"`
	BodyLimit      int64            `yaml:"body_limit"`
	CORSOrigins    []string         `yaml:"cors_origins"`
	TrustedProxies []string         `yaml:"trusted_proxies"`
	RateLimits     RateLimitsConfig `yaml:"rate_limits"`
}

type RateLimitsConfig struct {
	Enabled  string      `yaml:"enabled"` // on or off
	Register LimitConfig `yaml:"register"`
	Login    LimitConfig `yaml:"login"`
	Resend   LimitConfig `yaml:"resend"`
}

type LimitConfig struct {
	PerMinute float64 `yaml:"per_minute"`
	Burst     int     `yaml:"burst"`
}

type DatabaseConfig struct {
	Driver       string `yaml:"driver"`
	DSN          string `yaml:"dsn"`
	MaxOpenConns int    `yaml:"max_open_conns"`
}

type AuthConfig struct {
	JWTSecret      string        `yaml:"jwt_secret"`
	TokenTTL       time.Duration `yaml:"token_ttl"`
	ActivationTTL  time.Duration `yaml:"activation_ttl"`
	ResendCooldown time.Duration `yaml:"resend_cooldown"`
	BcryptCost     int           `yaml:"bcrypt_cost"`
}

type SMTPConfig struct {
	Host     string        `yaml:"host"`
	Port     int           `yaml:"port"`
	Username string        `yaml:"username"`
	Password string        `yaml:"password"`
	TLS      string        `yaml:"tls"`
	From     string        `yaml:"from"`
	Timeout  time.Duration `yaml:"timeout"`
}

type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json; empty: json in production, else text
}

func defaultConfig() Config {
	return Config{
		Mode:    "dev",
		DataDir: "./data",
		HTTP: HTTPConfig{
			Addr:        ":8080",
			PublicURL:   "http://localhost:8080",
			BodyLimit:   1 << 20,
			CORSOrigins: []string{"https://localhost", "http://localhost"},
			RateLimits: RateLimitsConfig{
				Enabled:  "on",
				Register: LimitConfig{PerMinute: 5, Burst: 10},
				Login:    LimitConfig{PerMinute: 10, Burst: 20},
				Resend:   LimitConfig{PerMinute: 5, Burst: 10},
			},
		},
		Database: DatabaseConfig{Driver: "sqlite", MaxOpenConns: 50},
		Auth: AuthConfig{
			JWTSecret:      service.DevJWTSecret,
			TokenTTL:       30 * 24 * time.Hour,
			ActivationTTL:  24 * time.Hour,
			ResendCooldown: time.Minute,
			BcryptCost:     11,
		},
		SMTP:    SMTPConfig{Port: 587, TLS: "starttls", From: "LeChat <no-reply@localhost>", Timeout: 15 * time.Second},
		Log:     LogConfig{Level: "info"},
		Groups:  GroupsConfig{MaxMembers: 500},
		Cluster: ClusterConfig{Channel: "lechat:bus", BusQueue: 65536},
		Metrics: MetricsConfig{Enabled: "on"},
		Robot:   RobotConfig{LLMTimeout: 30 * time.Second, ContextMessages: 10},
		Uploads: UploadsConfig{MaxBytes: 10 << 20, MaxPixels: 40_000_000, Workers: 2},
		Realtime: RealtimeConfig{
			MaxFrameBytes:  64 << 10,
			QueueSize:      256,
			FramesPerSec:   20,
			FrameBurst:     60,
			PingPeriod:     25 * time.Second,
			PongWait:       60 * time.Second,
			WriteWait:      10 * time.Second,
			HeartbeatEvery: 20 * time.Second,
			StaleAfter:     70 * time.Second,
			SendWorkers:    2,
			SendBatch:      256,
		},
	}
}

// loadConfig reads path over the defaults (a missing file is fine, a malformed one
// is not), applies the environment and validates the result.
func loadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := defaultConfig()
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return cfg, fmt.Errorf("read %s: %w", path, err)
	default:
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // EOF: an empty file
			return cfg, fmt.Errorf("parse %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

// applyEnv overlays the LECHAT_* variables of the API contract.
func applyEnv(cfg *Config, getenv func(string) string) error {
	str := map[string]*string{
		"LECHAT_MODE":            &cfg.Mode,
		"LECHAT_HTTP_ADDR":       &cfg.HTTP.Addr,
		"LECHAT_PUBLIC_URL":      &cfg.HTTP.PublicURL,
		"LECHAT_DATA_DIR":        &cfg.DataDir,
		"LECHAT_DB_DRIVER":       &cfg.Database.Driver,
		"LECHAT_DB_DSN":          &cfg.Database.DSN,
		"LECHAT_JWT_SECRET":      &cfg.Auth.JWTSecret,
		"LECHAT_SMTP_HOST":       &cfg.SMTP.Host,
		"LECHAT_SMTP_USERNAME":   &cfg.SMTP.Username,
		"LECHAT_SMTP_PASSWORD":   &cfg.SMTP.Password,
		"LECHAT_SMTP_TLS":        &cfg.SMTP.TLS,
		"LECHAT_MAIL_FROM":       &cfg.SMTP.From,
		"LECHAT_RATE_LIMITS":     &cfg.HTTP.RateLimits.Enabled,
		"LECHAT_LOG_LEVEL":       &cfg.Log.Level,
		"LECHAT_LOG_FORMAT":      &cfg.Log.Format,
		"LECHAT_NODE_ID":         &cfg.Cluster.NodeID,
		"LECHAT_REDIS_URL":       &cfg.Cluster.RedisURL,
		"LECHAT_ROBOT_LLM_URL":   &cfg.Robot.LLMURL,
		"LECHAT_ROBOT_LLM_MODEL": &cfg.Robot.LLMModel,
		"LECHAT_ROBOT_LLM_KEY":   &cfg.Robot.LLMKey,
	}
	for name, dst := range str {
		if v, ok := lookup(getenv, name); ok {
			*dst = v
		}
	}
	if v, ok := lookup(getenv, "LECHAT_SMTP_PORT"); ok {
		port, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("LECHAT_SMTP_PORT %q is not a number", v)
		}
		cfg.SMTP.Port = port
	}
	if v, ok := lookup(getenv, "LECHAT_UPLOAD_MAX_BYTES"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("LECHAT_UPLOAD_MAX_BYTES %q is not a number", v)
		}
		cfg.Uploads.MaxBytes = n
	}
	if v, ok := lookup(getenv, "LECHAT_CORS_ORIGINS"); ok {
		cfg.HTTP.CORSOrigins = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				cfg.HTTP.CORSOrigins = append(cfg.HTTP.CORSOrigins, o)
			}
		}
	}
	return nil
}

// lookup returns a variable that is set and not empty.
func lookup(getenv func(string) string, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}

// validate checks every setting, and refuses what is unsafe in production.
func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Mode != "dev" && c.Mode != "production" {
		bad("mode must be dev or production, not %q", c.Mode)
	}
	if c.HTTP.Addr == "" {
		bad("http.addr is empty")
	}
	if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("public URL %q must be an absolute http(s) URL", c.HTTP.PublicURL)
	}
	if c.HTTP.BodyLimit < 1024 {
		bad("http.body_limit must be at least 1024 bytes")
	}
	switch c.HTTP.RateLimits.Enabled {
	case "on", "off":
	default:
		bad("rate limits must be on or off, not %q", c.HTTP.RateLimits.Enabled)
	}
	for name, l := range map[string]LimitConfig{"register": c.HTTP.RateLimits.Register,
		"login": c.HTTP.RateLimits.Login, "resend": c.HTTP.RateLimits.Resend} {
		if l.PerMinute <= 0 || l.Burst < 1 {
			bad("rate limit %s needs per_minute > 0 and burst >= 1", name)
		}
	}
	if c.DataDir == "" {
		bad("data_dir is empty (it holds uploads, and the SQLite file)")
	}
	up := c.Uploads
	if up.MaxBytes < 1024 || up.MaxBytes > 100<<20 || up.MaxPixels < 1 || up.MaxPixels > 400_000_000 ||
		up.Workers < 1 || up.Workers > 64 {
		bad("uploads: max_bytes 1 KiB–100 MiB, max_pixels 1–400000000, workers 1–64")
	}
	switch c.Database.Driver {
	case "sqlite":
	case "mysql":
		if c.Database.DSN == "" {
			bad("database.dsn is required with the mysql driver")
		}
	default:
		bad("database driver must be sqlite or mysql, not %q", c.Database.Driver)
	}
	if c.Auth.JWTSecret == "" {
		bad("the JWT secret is empty")
	}
	if c.Auth.TokenTTL < time.Minute || c.Auth.ActivationTTL < time.Minute {
		bad("auth.token_ttl and auth.activation_ttl must be at least a minute")
	}
	if c.Auth.BcryptCost < 4 || c.Auth.BcryptCost > 31 {
		bad("auth.bcrypt_cost must be between 4 and 31")
	}
	switch c.SMTP.TLS {
	case "none", "starttls", "tls":
	default:
		bad("smtp tls must be none, starttls or tls, not %q", c.SMTP.TLS)
	}
	if c.SMTP.Host != "" && (c.SMTP.Port < 1 || c.SMTP.Port > 65535) {
		bad("smtp port %d is not a port", c.SMTP.Port)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log level must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		bad("log format must be text or json, not %q", c.Log.Format)
	}
	if c.Groups.MaxMembers < 2 || c.Groups.MaxMembers > 100_000 {
		bad("groups.max_members must be between 2 and 100000")
	}
	rt := c.Realtime
	if rt.MaxFrameBytes < 1024 || rt.QueueSize < 8 || rt.FramesPerSec <= 0 || rt.FrameBurst < 1 {
		bad("realtime: max_frame_bytes >= 1024, queue_size >= 8, frames_per_sec > 0 and frame_burst >= 1")
	}
	if rt.PingPeriod <= 0 || rt.PongWait <= rt.PingPeriod || rt.WriteWait <= 0 {
		bad("realtime: ping_period must be positive and shorter than pong_wait; write_wait positive")
	}
	if rt.SendWorkers < 1 || rt.SendWorkers > 64 || rt.SendBatch < 1 || rt.SendBatch > 5000 {
		bad("realtime: send_workers 1–64 and send_batch 1–5000")
	}
	if rt.HeartbeatEvery <= 0 || rt.StaleAfter < 2*rt.HeartbeatEvery {
		bad("realtime: stale_after must be at least two heartbeats")
	}
	if c.Cluster.RedisURL != "" {
		if u, err := url.Parse(c.Cluster.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			bad("cluster redis_url must be a redis://, rediss:// or unix:// URL")
		}
	}
	if c.Cluster.Channel == "" || c.Cluster.BusQueue < 1024 || c.Cluster.BusQueue > 10_000_000 {
		bad("cluster: channel must not be empty and bus_queue must be 1024–10000000")
	}
	switch c.Metrics.Enabled {
	case "on", "off":
	default:
		bad("metrics.enabled must be on or off, not %q", c.Metrics.Enabled)
	}
	if c.Robot.LLMURL != "" {
		if u, err := url.Parse(c.Robot.LLMURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("robot llm_url %q must be an absolute http(s) URL", c.Robot.LLMURL)
		}
	}
	if c.Robot.LLMTimeout <= 0 || c.Robot.ContextMessages < 1 || c.Robot.ContextMessages > 100 {
		bad("robot: llm_timeout must be positive and context_messages 1–100")
	}
	if _, err := time.LoadLocation(c.Robot.TimeZone); err != nil {
		bad("robot time_zone %q: %v", c.Robot.TimeZone, err)
	}
	if c.Mode == "production" {
		if c.Auth.JWTSecret == service.DevJWTSecret {
			bad("refusing to run in production with the default JWT secret: set LECHAT_JWT_SECRET to a random string of at least 32 characters")
		} else if len(c.Auth.JWTSecret) < 32 {
			bad("refusing to run in production with a JWT secret shorter than 32 characters")
		}
		if c.HTTP.RateLimits.Enabled == "off" {
			bad("refusing to turn rate limits off in production")
		}
	}
	return errors.Join(errs...)
}
