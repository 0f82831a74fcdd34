package migrations_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"lechat/migrations"
	"lechat/service/servicetest"
)

func TestMain(m *testing.M) { os.Exit(servicetest.Main(m)) }

// schema describes a database as the application sees it: each table's columns
// with their nullability, and each secondary index with its columns and uniqueness.
func schema(t *testing.T, db *gorm.DB) map[string][]string {
	t.Helper()
	m := db.Migrator()
	tables, err := m.GetTables()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, table := range tables {
		if strings.HasPrefix(table, "sqlite_") || table == migrations.TableName {
			continue // the engine's and goose's own bookkeeping
		}
		cols, err := m.ColumnTypes(table)
		if err != nil {
			t.Fatal(err)
		}
		var desc []string
		for _, c := range cols {
			null, _ := c.Nullable()
			desc = append(desc, fmt.Sprintf("column %s null=%v", c.Name(), null))
		}
		idx, err := m.GetIndexes(table)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range idx {
			if pk, _ := i.PrimaryKey(); pk || i.Name() == "PRIMARY" || strings.HasPrefix(i.Name(), "sqlite_autoindex") {
				continue
			}
			unique, _ := i.Unique()
			desc = append(desc, fmt.Sprintf("index %s %v unique=%v", i.Name(), i.Columns(), unique))
		}
		slices.Sort(desc)
		out[table] = desc
	}
	return out
}

func TestDialectsReachTheSameSchema(t *testing.T) {
	lite := schema(t, servicetest.DB(t, migrations.SQLite))
	my := schema(t, servicetest.DB(t, migrations.MySQL))
	for _, table := range []string{"users", "auth_tokens", "activation_tokens"} {
		if _, ok := lite[table]; !ok {
			t.Errorf("sqlite has no table %s", table)
		}
	}
	// The description must see indexes and nullability, or the comparison proves little.
	for _, want := range []string{"index uq_users_username [username] unique=true", "column activated_at null=true", "column email null=false"} {
		if !slices.Contains(lite["users"], want) || !slices.Contains(my["users"], want) {
			t.Errorf("users lacks %q\nsqlite: %v\nmysql:  %v", want, lite["users"], my["users"])
		}
	}
	for table, cols := range lite {
		if !slices.Equal(cols, my[table]) {
			t.Errorf("table %s differs\nsqlite: %v\nmysql:  %v", table, cols, my[table])
		}
	}
	for table := range my {
		if _, ok := lite[table]; !ok {
			t.Errorf("table %s is only in mysql", table)
		}
	}
}

func TestApplyIsIdempotent(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		sqlDB, err := db.DB()
		if err != nil {
			t.Fatal(err)
		}
		dialect := migrations.SQLite
		if db.Dialector.Name() == "mysql" {
			dialect = migrations.MySQL
		}
		// The database was migrated when it was opened; a second start applies nothing.
		if err := migrations.Apply(context.Background(), sqlDB, dialect, servicetest.Logger()); err != nil {
			t.Fatalf("second Apply: %v", err)
		}
		var n int64
		db.Table(migrations.TableName).Where("version_id > 0").Count(&n)
		entries, _ := os.ReadDir(dialect)
		if int(n) != len(entries) {
			t.Errorf("%d versions recorded, %d files", n, len(entries))
		}
	})
}

func TestBothDialectsHaveTheSameVersions(t *testing.T) {
	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	if a, b := names("mysql"), names("sqlite"); !slices.Equal(a, b) {
		t.Errorf("migration files differ:\nmysql:  %v\nsqlite: %v", a, b)
	}
}

func TestUnknownDialect(t *testing.T) {
	if err := migrations.Apply(context.Background(), nil, "postgres", servicetest.Logger()); err == nil {
		t.Error("Apply accepted an unknown dialect")
	}
}
