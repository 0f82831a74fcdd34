package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"lechat/api"
	"lechat/service/servicetest"
)

// /healthz shows the cluster bus but does not need it; /readyz needs the
// database and the bus; /metrics serves the handler it is given.
func TestReadyzAndMetrics(t *testing.T) {
	t.Parallel()
	var dbDown, busUp atomic.Bool
	busUp.Store(true)
	url, client := startServer(t, api.Options{Log: servicetest.Logger(),
		Health: func(context.Context) error {
			if dbDown.Load() {
				return errors.New("dial tcp 10.9.8.7:3306: secret detail")
			}
			return nil
		},
		BusHealthy: busUp.Load,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("lechat_bus_up 1\n"))
		}),
	})
	get := func(path string) *response { return send(t, client, newRequest(t, "GET", url+path, "", nil)) }
	type body struct {
		Status   string `json:"status"`
		Database string `json:"database"`
		Bus      string `json:"bus"`
		Error    *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	check := func(path string, status int, want body) {
		t.Helper()
		r := get(path)
		expectStatus(t, r, status)
		var got body
		decodeStrict(t, r.Body, &got)
		if got.Status != want.Status || got.Database != want.Database || got.Bus != want.Bus ||
			(want.Error == nil) != (got.Error == nil) || (got.Error != nil && (got.Error.Code != "unavailable" || got.Error.Message == "")) {
			t.Fatalf("GET %s = %s, want %+v", path, r.Body, want)
		}
		if strings.Contains(string(r.Body), "secret detail") {
			t.Fatalf("GET %s shows the cause: %s", path, r.Body)
		}
	}
	down := &struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{}

	check("/healthz", http.StatusOK, body{Status: "ok", Bus: "ok"})
	check("/readyz", http.StatusOK, body{Status: "ready", Database: "ok", Bus: "ok"})

	busUp.Store(false)
	check("/healthz", http.StatusOK, body{Status: "ok", Bus: "degraded"})
	check("/readyz", http.StatusServiceUnavailable, body{Status: "unavailable", Database: "ok", Bus: "degraded", Error: down})

	dbDown.Store(true)
	check("/readyz", http.StatusServiceUnavailable, body{Status: "unavailable", Database: "unavailable", Bus: "degraded", Error: down})
	expectError(t, get("/healthz"), http.StatusServiceUnavailable, "unavailable", "")

	r := get("/metrics")
	expectStatus(t, r, http.StatusOK)
	if string(r.Body) != "lechat_bus_up 1\n" {
		t.Fatalf("GET /metrics = %q", r.Body)
	}
}

// Without a bus (one node) /readyz needs the database only and shows no bus.
func TestReadyzSingleNode(t *testing.T) {
	t.Parallel()
	url, client := startServer(t, api.Options{Log: servicetest.Logger(), Health: func(context.Context) error { return nil }})
	r := send(t, client, newRequest(t, "GET", url+"/readyz", "", nil))
	expectStatus(t, r, http.StatusOK)
	var got map[string]string
	decodeStrict(t, r.Body, &got)
	if len(got) != 2 || got["status"] != "ready" || got["database"] != "ok" {
		t.Fatalf("GET /readyz = %s", r.Body)
	}
}
