package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// result is the report of one scenario run.
type result struct {
	Scenario    string         `json:"scenario"`
	Backend     string         `json:"backend"` // sqlite, mysql or attached
	Available   bool           `json:"available"`
	Unavailable string         `json:"unavailable,omitempty"`
	Config      map[string]any `json:"config"`
	SetupSec    float64        `json:"setup_sec"`
	// SetupRetries counts REST calls of the setup that failed with a server
	// error and were repeated: server failures, even though the run went on.
	SetupRetries map[string]int `json:"setup_retries,omitempty"`
	MeasuredSec  float64        `json:"measured_sec"`
	Users        int            `json:"users"`
	Sockets      int            `json:"sockets"`

	Sent       int `json:"sent"`
	Acked      int `json:"acked"`
	Failed     int `json:"failed"`     // error frames
	Unanswered int `json:"unanswered"` // neither ack nor error
	tally
	OutOfOrder int `json:"out_of_order"`
	Unexpected int `json:"unexpected_frames"`

	SendSec         float64  `json:"send_sec"`   // first to last send
	WindowSec       float64  `json:"window_sec"` // first send to last delivery
	OfferedPerSec   float64  `json:"offered_per_sec"`
	DeliveredPerSec float64  `json:"delivered_per_sec"`
	Latency         latency  `json:"latency"`     // send to receive, every delivery
	AckLatency      latency  `json:"ack_latency"` // send to ack
	FanOut          *latency `json:"fan_out,omitempty"`
	SendLag         *latency `json:"send_lag,omitempty"`

	Idle    *idleFigures   `json:"idle,omitempty"`
	Server  serverFigures  `json:"server"`
	Tool    toolFigures    `json:"tool"`
	Machine machineFigures `json:"machine"`
	Errors  map[string]int `json:"errors"`

	Targets []target `json:"targets"`
	Notes   []string `json:"notes,omitempty"`
}

type idleFigures struct {
	Conns              int     `json:"conns"`
	Connected          int     `json:"connected"`     // handshakes done
	Ready              int     `json:"ready"`         // of those, with the server's ready frame; -1: the server sends none
	HandshakeSec       float64 `json:"handshake_sec"` // start to the last handshake
	ConnectSec         float64 `json:"connect_sec"`   // start to the last ready frame (or handshake)
	RSSBeforeKiB       int64   `json:"rss_before_kib"`
	RSSAfterConnectKiB int64   `json:"rss_after_connect_kib"`
	RSSAfterHoldKiB    int64   `json:"rss_after_hold_kib"`
	PerConnKiB         float64 `json:"per_conn_kib"`
	PingsSent          int     `json:"pings_sent"`
	Pongs              int     `json:"pongs"`
	AliveAfterHold     int     `json:"alive_after_hold"`
}

type serverFigures struct {
	Binary       *binaryInfo    `json:"binary,omitempty"` // a server the bench started
	PID          int            `json:"pid"`
	RSSBeforeKiB int64          `json:"rss_before_kib"`
	RSSAfterKiB  int64          `json:"rss_after_kib"`
	PeakKiB      int64          `json:"peak_kib"` // VmHWM since the server started
	CPUSec       float64        `json:"cpu_sec"`  // during the measured phase
	LogWarnings  int            `json:"log_warnings"`
	LogErrors    int            `json:"log_errors"`
	LogKinds     map[string]int `json:"log_kinds,omitempty"`
}

type toolFigures struct {
	CPUUserSec float64 `json:"cpu_user_sec"` // during the measured phase
	CPUSysSec  float64 `json:"cpu_sys_sec"`
	MaxRSSKiB  int64   `json:"max_rss_kib"`
}

// machineFigures tell whether the machine was quiet: on a shared machine other
// processes take CPU from the server and the tool.
type machineFigures struct {
	CPUs       int     `json:"cpus"`
	BusySec    float64 `json:"busy_cpu_sec"`         // all processes, during the measured phase
	DBCPUSec   float64 `json:"db_cpu_sec,omitempty"` // the MariaDB server, with -db mysql
	DBRSSKiB   int64   `json:"db_rss_kib,omitempty"`
	OtherSec   float64 `json:"other_cpu_sec"` // busy minus server, tool and database
	StealSec   float64 `json:"steal_cpu_sec"` // taken by the hypervisor
	LoadBefore float64 `json:"load1_before"`
	LoadAfter  float64 `json:"load1_after"`
}

// target is one figure of the issue, next to what was measured. Targets are
// reported, never asserted: the bench exits 0 when a target is missed.
type target struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

func newResult(scenario string, e *env) *result {
	res := &result{Scenario: scenario, Backend: e.srv.backend, Available: true,
		Errors: map[string]int{}, Server: serverFigures{PID: e.srv.pid}}
	if e.srv.cmd != nil {
		b := e.srv.binary
		res.Server.Binary = &b
	}
	return res
}

// judge fills in the targets of the issue that apply to res.
func (res *result) judge(rate float64) {
	if !res.Available {
		return
	}
	add := func(name, want, got string, met bool) {
		res.Targets = append(res.Targets, target{Name: name, Target: want, Measured: got, Met: met})
	}
	switch res.Scenario {
	case "pairs":
		if rate == 0 {
			add("throughput", ">= 10000 delivered msg/s", fmt.Sprintf("%.0f msg/s", res.DeliveredPerSec), res.DeliveredPerSec >= 10000)
			add("latency p99", "< 100 ms", fmt.Sprintf("%.1f ms", res.Latency.P99), res.Latency.Count > 0 && res.Latency.P99 < 100)
		} else {
			add("latency p99 at a fixed rate", "< 20 ms (at 2000 msg/s offered)",
				fmt.Sprintf("%.1f ms at %.0f msg/s", res.Latency.P99, res.OfferedPerSec), res.Latency.Count > 0 && res.Latency.P99 < 20)
		}
	case "group":
		if res.FanOut != nil {
			add("fan-out p99", "< 100 ms to all members", fmt.Sprintf("%.1f ms", res.FanOut.P99), res.FanOut.Count > 0 && res.FanOut.P99 < 100)
		}
	case "idle":
		if i := res.Idle; i != nil {
			all := i.Connected == i.Conns && (i.Ready < 0 || i.Ready == i.Conns)
			add("connections", "all connected and ready", fmt.Sprintf("%d of %d (ready %d)", i.Connected, i.Conns, i.Ready), all)
			add("connect time", "< 30 s", fmt.Sprintf("%.1f s", i.ConnectSec), all && i.ConnectSec < 30)
			if res.Server.RSSBeforeKiB > 0 {
				add("memory per connection", "< 40 KiB", fmt.Sprintf("%.1f KiB", i.PerConnKiB), i.PerConnKiB < 40)
			}
			add("alive after hold", "all", fmt.Sprintf("%d of %d", i.AliveAfterHold, i.Connected), i.AliveAfterHold == i.Connected)
		}
	}
	if res.Scenario != "idle" {
		add("lost", "0", fmt.Sprint(res.Lost), res.Lost == 0 && res.Unanswered == 0)
		add("duplicates", "0", fmt.Sprint(res.Duplicates), res.Duplicates == 0)
	}
}

// printText writes res as a table.
func printText(w io.Writer, res *result) {
	fmt.Fprintf(w, "\n== %s on %s ==\n", res.Scenario, res.Backend)
	if !res.Available {
		fmt.Fprintf(w, "NOT AVAILABLE: %s\n", res.Unavailable)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	row("config", "%s", configText(res.Config))
	if b := res.Server.Binary; b != nil {
		vcs := ""
		if b.VCS != "" {
			vcs = ", vcs " + b.VCS
		}
		row("server binary", "%s (sha256 %s…, built %s%s)", b.Path, b.SHA256, b.Modified.Format("2006-01-02 15:04:05Z"), vcs)
	}
	row("setup", "%.1f s (users, friendships, groups, sockets; not measured)", res.SetupSec)
	for _, k := range sortedKeys(res.SetupRetries) {
		row("setup retries", "%d × %s", res.SetupRetries[k], k)
	}
	row("users / sockets", "%d / %d", res.Users, res.Sockets)
	if res.Idle == nil {
		row("sent / acked", "%d / %d (error answers %d, unanswered %d)", res.Sent, res.Acked, res.Failed, res.Unanswered)
		row("delivered / expected", "%d / %d (expected: acked messages × their receivers)", res.Delivered, res.Expected)
		row("duplicates", "%d", res.Duplicates)
		row("lost", "%d", res.Lost)
		row("out of order", "%d", res.OutOfOrder)
		if res.UnackedDelivered > 0 || res.Unexpected > 0 {
			row("delivered without ack", "%d", res.UnackedDelivered)
			row("unexpected frames", "%d", res.Unexpected)
		}
		row("send window", "%.2f s (offered %.0f msg/s)", res.SendSec, res.OfferedPerSec)
		row("delivered msg/s", "%.0f (over %.2f s, first send to last delivery)", res.DeliveredPerSec, res.WindowSec)
		row("latency send→receive", "%s", latText(res.Latency))
		if res.FanOut != nil {
			row("fan-out (last member)", "%s", latText(*res.FanOut))
		}
		row("latency send→ack", "%s", latText(res.AckLatency))
		if res.SendLag != nil {
			row("tool send lag", "%s (how late sends left vs. schedule)", latText(*res.SendLag))
		}
	} else {
		i := res.Idle
		row("connected", "%d of %d: handshakes done in %.2f s, ready frames (registered) on %d in %.2f s",
			i.Connected, i.Conns, i.HandshakeSec, i.Ready, i.ConnectSec)
		row("server RSS", "before %s, after connect %s, after hold %s", kib(i.RSSBeforeKiB), kib(i.RSSAfterConnectKiB), kib(i.RSSAfterHoldKiB))
		row("per connection", "%.1f KiB", i.PerConnKiB)
		row("pings / pongs", "%d / %d", i.PingsSent, i.Pongs)
		row("alive after hold", "%d", i.AliveAfterHold)
	}
	row("server RSS", "%s → %s (peak %s)", kib(res.Server.RSSBeforeKiB), kib(res.Server.RSSAfterKiB), kib(res.Server.PeakKiB))
	row("server CPU", "%.2f s over %.2f s measured", res.Server.CPUSec, res.MeasuredSec)
	row("tool CPU", "%.2f s user + %.2f s sys (tool peak RSS %s)", res.Tool.CPUUserSec, res.Tool.CPUSysSec, kib(res.Tool.MaxRSSKiB))
	if res.Machine.DBCPUSec > 0 {
		row("database CPU", "%.2f s (mariadbd, RSS %s)", res.Machine.DBCPUSec, kib(res.Machine.DBRSSKiB))
	}
	row("machine", "%d CPUs; other processes used %.2f CPU s, hypervisor steal %.2f s; load average %.2f → %.2f",
		res.Machine.CPUs, res.Machine.OtherSec, res.Machine.StealSec, res.Machine.LoadBefore, res.Machine.LoadAfter)
	row("server log", "%d warnings, %d errors", res.Server.LogWarnings, res.Server.LogErrors)
	for _, k := range sortedKeys(res.Server.LogKinds) {
		row("", "  %d × %s", res.Server.LogKinds[k], k)
	}
	if len(res.Errors) == 0 {
		row("errors", "none")
	}
	for _, k := range sortedKeys(res.Errors) {
		row("errors", "%d × %s", res.Errors[k], k)
	}
	for _, t := range res.Targets {
		mark := "met"
		if !t.Met {
			mark = "NOT MET"
		}
		row("target: "+t.Name, "%s: want %s, got %s", mark, t.Target, t.Measured)
	}
	for _, n := range res.Notes {
		row("note", "%s", n)
	}
	tw.Flush()
}

func latText(l latency) string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.2f  p95 %.2f  p99 %.2f  max %.2f ms (n=%d)", l.P50, l.P95, l.P99, l.Max, l.Count)
}

func kib(v int64) string {
	if v == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(v)/1024)
}

func configText(c map[string]any) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sortStrings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%v", k, c[k])
	}
	return b.String()
}

// writeJSON writes the results, with the command line, to path.
func writeJSON(path string, args []string, results []*result) error {
	b, err := json.MarshalIndent(map[string]any{"command": args, "results": results}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
