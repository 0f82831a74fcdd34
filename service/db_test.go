package service_test

import (
	"strings"
	"testing"

	"lechat/migrations"
	"lechat/service"
	"lechat/service/servicetest"
)

func TestMySQLConnectionsReadCommitted(t *testing.T) {
	db := servicetest.DB(t, migrations.MySQL)
	var level string
	for _, v := range []string{"@@SESSION.tx_isolation", "@@SESSION.transaction_isolation"} {
		if err := db.Raw("SELECT " + v).Scan(&level).Error; err == nil {
			break
		}
	}
	if level != "READ-COMMITTED" {
		t.Errorf("session isolation %q, want READ-COMMITTED", level)
	}
}

func TestMySQLDSNForcesWhatLeChatNeeds(t *testing.T) {
	dsn, err := service.MySQLDSN("u:p@tcp(db:3306)/lechat?charset=latin1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(dsn, "latin1") {
		t.Errorf("DSN %q keeps the caller's charset", dsn)
	}
	for _, want := range []string{"charset=utf8mb4", "parseTime=true", "collation=utf8mb4_unicode_ci", "time_zone="} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN %q lacks %q", dsn, want)
		}
	}
	if _, err := service.MySQLDSN("not a dsn"); err == nil {
		t.Error("a malformed DSN was accepted")
	}
}
