package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestClusterSettings(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none.yaml")
	cfg, err := loadConfig(none, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.RedisURL != "" || cfg.Cluster.Channel != "lechat:bus" || cfg.Metrics.Enabled != "on" {
		t.Errorf("defaults: cluster %+v, metrics %+v", cfg.Cluster, cfg.Metrics)
	}
	// The committed file shows the same cluster and metrics defaults.
	file, err := loadConfig("config.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(file.Cluster, cfg.Cluster) || file.Metrics != cfg.Metrics ||
		file.Realtime.HeartbeatEvery != cfg.Realtime.HeartbeatEvery || file.Realtime.StaleAfter != cfg.Realtime.StaleAfter {
		t.Errorf("config.yaml: cluster %+v metrics %+v, defaults %+v %+v", file.Cluster, file.Metrics, cfg.Cluster, cfg.Metrics)
	}

	cfg, err = loadConfig(none, env(map[string]string{"LECHAT_REDIS_URL": "redis://:pw@10.0.0.5:6379/0", "LECHAT_NODE_ID": "n1"}))
	if err != nil || cfg.Cluster.RedisURL != "redis://:pw@10.0.0.5:6379/0" || cfg.Cluster.NodeID != "n1" {
		t.Fatalf("LECHAT_REDIS_URL: %+v, %v", cfg.Cluster, err)
	}

	for _, tt := range []struct{ name, file, env string }{
		{"not a redis url", "", "http://:secret-pw@10.0.0.5:6379"},
		{"no channel", "cluster:\n  channel: \"\"\n", ""},
		{"tiny bus queue", "cluster:\n  bus_queue: 10\n", ""},
		{"metrics yes", "metrics:\n  enabled: \"yes\"\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			if tt.env != "" {
				vars["LECHAT_REDIS_URL"] = tt.env
			}
			_, err := loadConfig(writeFile(t, tt.file), env(vars))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
