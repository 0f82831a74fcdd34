// Package servicetest gives tests real databases: SQLite always, and MySQL (or
// MariaDB) when one answers. Each test binary gets one fresh database per dialect,
// migrated at first use and dropped when the binary ends (see Main). Tests make
// their own rows (Unique helps), so they can run in parallel without truncating.
package servicetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"lechat/migrations"
	"lechat/service"
)

// DefaultMySQLDSN is tried when LECHAT_TEST_MYSQL_DSN is not set.
const DefaultMySQLDSN = "root:@tcp(127.0.0.1:3306)/test"

// Required reports whether LECHAT_TEST_REQUIRE_SERVICES=1: then a database that
// does not answer fails the test instead of skipping it.
func Required() bool { return os.Getenv("LECHAT_TEST_REQUIRE_SERVICES") == "1" }

type opened struct {
	once    sync.Once
	db      *gorm.DB
	err     error
	skip    string // why this dialect is not available, when it is optional
	cleanup func()
}

var (
	dbs     = map[string]*opened{migrations.SQLite: {}, migrations.MySQL: {}}
	cleanMu sync.Mutex
	cleans  []func()
)

// Main runs the package's tests, then drops the databases they made. Call it
// from TestMain: os.Exit(servicetest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	cleanMu.Lock()
	defer cleanMu.Unlock()
	for _, c := range cleans {
		c()
	}
	return code
}

// Dialects lists the dialects every storage test runs against.
var Dialects = []string{migrations.SQLite, migrations.MySQL}

// ForEachDB runs fn as a subtest per dialect with that dialect's database.
func ForEachDB(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, DB(t, d))
		})
	}
}

// DB returns this test binary's migrated database of dialect. A MySQL that does
// not answer skips the test, or fails it when services are required.
func DB(t testing.TB, dialect string) *gorm.DB {
	t.Helper()
	o := dbs[dialect]
	o.once.Do(func() {
		switch dialect {
		case migrations.SQLite:
			o.db, o.err = openSQLite()
		case migrations.MySQL:
			o.db, o.skip, o.err = openMySQL()
		default:
			o.err = fmt.Errorf("unknown dialect %q", dialect)
		}
	})
	switch {
	case o.err != nil:
		t.Fatalf("%s test database: %v", dialect, o.err)
	case o.skip != "" && Required():
		t.Fatalf("%s is required (LECHAT_TEST_REQUIRE_SERVICES=1) but %s", dialect, o.skip)
	case o.skip != "":
		t.Skipf("%s tests skipped: %s", dialect, o.skip)
	}
	return o.db
}

func openSQLite() (*gorm.DB, error) {
	dir, err := os.MkdirTemp("", "lechat-test-sqlite-")
	if err != nil {
		return nil, err
	}
	addCleanup(func() { os.RemoveAll(dir) })
	db, _, err := service.OpenDB(context.Background(), service.DBConfig{Driver: "sqlite",
		DSN: filepath.Join(dir, "test.db")}, Logger())
	if err != nil {
		return nil, err
	}
	addCleanup(func() { closeDB(db) })
	return db, migrate(db, migrations.SQLite)
}

// openMySQL creates a database of its own on the server of LECHAT_TEST_MYSQL_DSN
// (or DefaultMySQLDSN) and returns it migrated; skip says why there is none.
func openMySQL() (db *gorm.DB, skip string, err error) {
	dsn := os.Getenv("LECHAT_TEST_MYSQL_DSN")
	if dsn == "" {
		dsn = DefaultMySQLDSN
	}
	name, err := CreateMySQLDatabase(dsn)
	if err != nil {
		return nil, fmt.Sprintf("MySQL at LECHAT_TEST_MYSQL_DSN does not answer: %v", err), nil
	}
	addCleanup(func() { DropMySQLDatabase(dsn, name) })
	cfg, _ := mysql.ParseDSN(dsn)
	cfg.DBName = name
	db, _, err = service.OpenDB(context.Background(), service.DBConfig{Driver: "mysql",
		DSN: cfg.FormatDSN(), MaxOpenConns: 20}, Logger())
	if err != nil {
		return nil, "", err
	}
	addCleanup(func() { closeDB(db) })
	return db, "", migrate(db, migrations.MySQL)
}

// CreateMySQLDatabase makes a uniquely named utf8mb4 database on the server of dsn
// and returns its name.
func CreateMySQLDatabase(dsn string) (string, error) {
	admin, err := adminConn(dsn)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	name := "lechat_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	return name, err
}

// DropMySQLDatabase drops a database made by CreateMySQLDatabase.
func DropMySQLDatabase(dsn, name string) {
	admin, err := adminConn(dsn)
	if err != nil {
		return
	}
	defer admin.Close()
	admin.Exec("DROP DATABASE IF EXISTS `" + name + "`")
}

// MySQLDSNFor returns dsn pointed at database name.
func MySQLDSNFor(dsn, name string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return dsn
	}
	cfg.DBName = name
	return cfg.FormatDSN()
}

func adminConn(dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 3 * time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func migrate(db *gorm.DB, dialect string) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return migrations.Apply(context.Background(), sqlDB, dialect, Logger())
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

func addCleanup(f func()) {
	cleanMu.Lock()
	defer cleanMu.Unlock()
	cleans = append([]func(){f}, cleans...) // last made, first undone
}

// Logger is what services under test log through: nothing, unless
// LECHAT_TEST_LOG=1 sends it to stderr (for debugging a failing test).
func Logger() *slog.Logger {
	if os.Getenv("LECHAT_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

var counter atomic.Uint64

// Unique returns prefix followed by a short string no other call in this process
// (nor, with high probability, any other process) returns. It stays within
// [a-z0-9_] so it can serve as a username.
func Unique(prefix string) string {
	return fmt.Sprintf("%s%d_%s", prefix, counter.Add(1), randomHex(3))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
