package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lechat/service"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMissingFileMeansDefaults(t *testing.T) {
	cfg, err := loadConfig(filepath.Join(t.TempDir(), "none.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	def := defaultConfig()
	if cfg.HTTP.Addr != ":8080" || cfg.Database.Driver != "sqlite" || cfg.DataDir != "./data" ||
		cfg.HTTP.PublicURL != "http://localhost:8080" || cfg.Auth.JWTSecret != service.DevJWTSecret ||
		cfg.SMTP.TLS != "starttls" || cfg.SMTP.From != def.SMTP.From || cfg.HTTP.RateLimits.Enabled != "on" {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestCommittedConfigFileLoads(t *testing.T) {
	cfg, err := loadConfig("config.yaml", env(nil))
	if err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	def := defaultConfig()
	// The committed file documents the defaults; it must not change them.
	if cfg.HTTP.Addr != def.HTTP.Addr || cfg.Database.Driver != def.Database.Driver ||
		cfg.Auth.TokenTTL != def.Auth.TokenTTL || cfg.Auth.BcryptCost != def.Auth.BcryptCost ||
		cfg.HTTP.BodyLimit != def.HTTP.BodyLimit || cfg.Auth.JWTSecret != def.Auth.JWTSecret {
		t.Errorf("config.yaml differs from the defaults: %+v", cfg)
	}
}

func TestFileThenEnvironment(t *testing.T) {
	p := writeFile(t, `
mode: dev
http:
  addr: ":9000"
  cors_origins: ["https://app.example.com"]
database:
  driver: mysql
  dsn: "root:@tcp(db:3306)/lechat"
auth:
  token_ttl: 2h
smtp:
  host: mail.example.com
  port: 2525
`)
	cfg, err := loadConfig(p, env(map[string]string{
		"LECHAT_HTTP_ADDR":     "127.0.0.1:7000",
		"LECHAT_SMTP_PORT":     "465",
		"LECHAT_SMTP_TLS":      "tls",
		"LECHAT_CORS_ORIGINS":  "https://localhost, https://m.example.com",
		"LECHAT_RATE_LIMITS":   "off",
		"LECHAT_JWT_SECRET":    "from-the-environment",
		"LECHAT_DB_DSN":        "u:p@tcp(h:3306)/x",
		"LECHAT_PUBLIC_URL":    "https://chat.example.com",
		"LECHAT_MAIL_FROM":     "Chat <chat@example.com>",
		"LECHAT_SMTP_USERNAME": "mailer",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != "127.0.0.1:7000" || cfg.SMTP.Port != 465 || cfg.SMTP.TLS != "tls" ||
		cfg.SMTP.Host != "mail.example.com" || cfg.Auth.TokenTTL != 2*time.Hour ||
		cfg.Database.Driver != "mysql" || cfg.Database.DSN != "u:p@tcp(h:3306)/x" ||
		cfg.HTTP.RateLimits.Enabled != "off" || cfg.Auth.JWTSecret != "from-the-environment" ||
		cfg.HTTP.PublicURL != "https://chat.example.com" || cfg.SMTP.From != "Chat <chat@example.com>" ||
		cfg.SMTP.Username != "mailer" || strings.Join(cfg.HTTP.CORSOrigins, "|") != "https://localhost|https://m.example.com" {
		t.Errorf("got %+v", cfg)
	}
}

func TestBadConfigIsRefused(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"malformed yaml", "http: [", nil, "parse"},
		{"unknown key", "htp:\n  addr: x\n", nil, "htp"},
		{"bad mode", "", map[string]string{"LECHAT_MODE": "staging"}, "mode"},
		{"bad driver", "", map[string]string{"LECHAT_DB_DRIVER": "postgres"}, "driver"},
		{"mysql without dsn", "", map[string]string{"LECHAT_DB_DRIVER": "mysql"}, "dsn"},
		{"bad port", "", map[string]string{"LECHAT_SMTP_PORT": "abc"}, "LECHAT_SMTP_PORT"},
		{"bad tls", "", map[string]string{"LECHAT_SMTP_TLS": "ssl3"}, "tls"},
		{"bad public url", "", map[string]string{"LECHAT_PUBLIC_URL": "localhost:8080"}, "public URL"},
		{"bad rate limit switch", "", map[string]string{"LECHAT_RATE_LIMITS": "maybe"}, "rate limits"},
		{"production with the default secret", "", map[string]string{"LECHAT_MODE": "production"}, "default JWT secret"},
		{"production with a short secret", "", map[string]string{"LECHAT_MODE": "production", "LECHAT_JWT_SECRET": "short"}, "shorter than 32"},
		{"production without rate limits", "", map[string]string{"LECHAT_MODE": "production",
			"LECHAT_JWT_SECRET": strings.Repeat("s", 40), "LECHAT_RATE_LIMITS": "off"}, "rate limits off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeFile(t, tt.file), env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("loadConfig = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestProductionStartsWithARealSecret(t *testing.T) {
	_, err := loadConfig(writeFile(t, ""), env(map[string]string{"LECHAT_MODE": "production",
		"LECHAT_JWT_SECRET": strings.Repeat("k", 48)}))
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunRefusesProductionWithTheDefaultSecret(t *testing.T) {
	t.Setenv("LECHAT_CONFIG", filepath.Join(t.TempDir(), "none.yaml"))
	t.Setenv("LECHAT_MODE", "production")
	t.Setenv("LECHAT_JWT_SECRET", "")
	t.Setenv("LECHAT_DATA_DIR", t.TempDir())
	err := run()
	if err == nil || !strings.Contains(err.Error(), "refusing to run in production with the default JWT secret") {
		t.Fatalf("run() = %v", err)
	}
}
