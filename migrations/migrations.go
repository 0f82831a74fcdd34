// Package migrations embeds LeChat's versioned SQL migrations, one folder per
// dialect with the same numbers, and applies them at start-up.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
)

//go:embed mysql/*.sql sqlite/*.sql
var files embed.FS

// TableName records the applied versions.
const TableName = "schema_migrations"

// Dialects this package has migrations for.
const (
	MySQL  = "mysql"
	SQLite = "sqlite"
)

// Apply runs every migration of dialect ("mysql" or "sqlite") that db has not seen
// yet, in order, and logs each one.
func Apply(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply %s migrations: %w", dialect, err)
	}
	for _, r := range results {
		log.Info("migration applied", "dialect", dialect, "version", r.Source.Version,
			"file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	var gd goose.Dialect
	switch dialect {
	case MySQL:
		gd = goose.DialectMySQL
	case SQLite:
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("no migrations for dialect %q", dialect)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(gd, db, sub, goose.WithTableName(TableName),
		goose.WithDisableGlobalRegistry(true))
}
