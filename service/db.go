// Package service holds LeChat's business rules. It owns every transaction; the
// transports (api, ws) call it and never see gorm.
package service

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/go-sql-driver/mysql"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"lechat/model"
)

// DBConfig says which database to open.
type DBConfig struct {
	Driver       string // "sqlite" or "mysql"
	DSN          string // for sqlite, a file path; empty means DataDir/lechat.db
	DataDir      string
	MaxOpenConns int
}

// OpenDB opens the database of cfg with the settings LeChat relies on: UTC times,
// utf8mb4 on MySQL, WAL and a busy timeout on SQLite, and errors translated to
// gorm's kinds. It returns the dialect name ("mysql" or "sqlite") for migrations.
func OpenDB(ctx context.Context, cfg DBConfig, log *slog.Logger) (*gorm.DB, string, error) {
	var dialector gorm.Dialector
	switch cfg.Driver {
	case "mysql":
		dsn, err := MySQLDSN(cfg.DSN)
		if err != nil {
			return nil, "", err
		}
		if dsn, err = withReadCommitted(ctx, dsn); err != nil {
			return nil, "", err
		}
		dialector = gormmysql.Open(dsn)
	case "sqlite", "":
		path := cfg.DSN
		if path == "" {
			if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
				return nil, "", fmt.Errorf("create data dir: %w", err)
			}
			path = filepath.Join(cfg.DataDir, "lechat.db")
		}
		dialector = sqlite.Open(SQLiteDSN(path))
	default:
		return nil, "", fmt.Errorf("unknown database driver %q (want sqlite or mysql)", cfg.Driver)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError: true,
		// On SQLite, statements are prepared once per connection and reused: the
		// embedded engine parsing SQL again was a fifth of the server's CPU under
		// load. (MySQL parses in its own process, and its prepared statements count
		// against a server-wide limit shared by every node.) The cache is bounded,
		// since lists of ids make statements of many shapes.
		PrepareStmt:        cfg.Driver != "mysql",
		PrepareStmtMaxSize: 256,
		PrepareStmtTTL:     time.Hour,
		NowFunc:            func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
		Logger:             logger.Discard,
	})
	if err != nil {
		return nil, "", fmt.Errorf("open %s database: %w", cfg.Driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, "", err
	}
	dialect := "mysql"
	if cfg.Driver != "mysql" {
		dialect = "sqlite"
	}
	if cfg.MaxOpenConns > 0 {
		sqlDB.SetMaxOpenConns(cfg.MaxOpenConns)
		sqlDB.SetMaxIdleConns(cfg.MaxOpenConns)
	}
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		sqlDB.Close()
		return nil, "", fmt.Errorf("reach %s database: %w", dialect, err)
	}
	log.Info("database open", "driver", dialect)
	return db, dialect, nil
}

// SQLiteDSN is the connection string for the SQLite file at path: WAL, a busy
// timeout, foreign keys, and transactions that take the write lock at BEGIN
// (SQLite has no SELECT … FOR UPDATE).
func SQLiteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Not _time_format: this driver version stops reading the DSN after it.
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// MySQLDSN returns dsn with the settings LeChat needs forced on: utf8mb4, parsed
// times in UTC. Returns an error when dsn does not parse.
func MySQLDSN(dsn string) (string, error) {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("parse mysql dsn: %w", err)
	}
	c.ParseTime = true
	c.Loc = time.UTC
	if err := c.Apply(mysql.Charset("utf8mb4", "utf8mb4_unicode_ci")); err != nil {
		return "", fmt.Errorf("mysql dsn: %w", err)
	}
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	delete(c.Params, "charset")
	c.Params["time_zone"] = "'+00:00'"
	return c.FormatDSN(), nil
}

// withReadCommitted makes every connection of dsn use READ COMMITTED. Under
// MySQL's default REPEATABLE READ, a DELETE or locking read takes gap locks even
// where it finds nothing, and two such transactions that then insert deadlock;
// LeChat's rules rely on row locks alone. MariaDB before 11.1 names the variable
// tx_isolation, MySQL transaction_isolation: the server is asked which it is.
func withReadCommitted(ctx context.Context, dsn string) (string, error) {
	probe, err := sql.Open("mysql", dsn)
	if err != nil {
		return "", fmt.Errorf("open mysql: %w", err)
	}
	defer probe.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var version string
	if err := probe.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return "", fmt.Errorf("reach mysql database: %w", err)
	}
	variable := "transaction_isolation"
	if strings.Contains(strings.ToLower(version), "mariadb") {
		variable = "tx_isolation" // an alias of transaction_isolation from MariaDB 11.1 on
	}
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	c.Params[variable] = "'READ-COMMITTED'"
	return c.FormatDSN(), nil
}

// dbErr turns gorm's kinds into model kinds; anything else is returned as it is.
func dbErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return model.Errorf(model.ErrNotFound, "not found")
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return model.Errorf(model.ErrConflict, "already exists")
	}
	return err
}

// unavailableIfDown marks an error that means the database is out of reach (or
// too slow: a deadline passed) as ErrUnavailable, so that clients are told to
// retry; any other error is returned as it is.
func unavailableIfDown(err error) error {
	if err == nil || model.Code(err) != "internal" {
		return err
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.As(err, &netErr) ||
		strings.Contains(err.Error(), "database is locked") {
		return fmt.Errorf("%w: %w", model.Errorf(model.ErrUnavailable, "the database does not answer: try again"), err)
	}
	return err
}
