package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// server is the LeChat node under test: one the bench started, or one it
// attached to.
type server struct {
	addr    string // 127.0.0.1:port
	pid     int    // 0: unknown (no RSS or CPU figures)
	backend string // sqlite, mysql, or "attached"
	binary  binaryInfo
	dbPID   int // the local MariaDB/MySQL server, when the backend is mysql: its CPU is reported too
	logs    *logWatcher
	dir     string // temp dir of a started server
	keep    bool

	cmd      *exec.Cmd
	exited   chan struct{}
	err      error     // the process's exit, once exited is closed
	exitedAt time.Time // once exited is closed
	stopping atomic.Bool
}

// startOptions configure a server the bench starts itself.
type startOptions struct {
	bin        string
	db         string // sqlite or mysql
	dsn        string
	bcryptCost int
	maxMembers int
	keep       bool
	env        []string // extra KEY=VALUE, applied last
}

// startServer runs the server binary on a free loopback port with a fresh data
// directory, rate limits off and mails in its log, and waits for /healthz.
func startServer(ctx context.Context, o startOptions) (*server, error) {
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(bin)
	if err != nil || st.IsDir() {
		return nil, fmt.Errorf("server binary %s not found: build it with `go build -o bin/lechat .` in the project", o.bin)
	}
	if o.db == "mysql" && o.dsn == "" {
		return nil, errors.New("-db mysql needs -dsn, e.g. root:@tcp(127.0.0.1:3306)/bench_x")
	}
	dir, err := os.MkdirTemp("", "lechat-bench-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok && !o.keep {
			os.RemoveAll(dir)
		}
	}()
	// Run a copy: a rebuild of the binary while the bench runs (others share the
	// tree) must not change what is measured, and the report names what ran.
	info, err := snapshotBinary(bin, filepath.Join(dir, "lechat-server"), st)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// A config of its own: the project's config.yaml in the working directory
	// must not leak in. Cheap bcrypt only shortens setup (logins are not measured).
	conf := fmt.Sprintf("auth:\n  bcrypt_cost: %d\ngroups:\n  max_members: %d\n", o.bcryptCost, o.maxMembers)
	confPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LECHAT_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"LECHAT_CONFIG="+confPath,
		"LECHAT_MODE=dev",
		"LECHAT_HTTP_ADDR="+addr,
		"LECHAT_PUBLIC_URL=http://"+addr,
		"LECHAT_DATA_DIR="+filepath.Join(dir, "data"),
		"LECHAT_DB_DRIVER="+o.db,
		"LECHAT_RATE_LIMITS=off",
		"LECHAT_LOG_FORMAT=text",
		"LECHAT_LOG_LEVEL=info",
	)
	if o.dsn != "" {
		env = append(env, "LECHAT_DB_DSN="+o.dsn)
	}
	env = append(env, o.env...)
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(dir, "lechat-server"))
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no orphan if the bench dies
	// Not StderrPipe: Wait would close it under the reader and lose the last lines.
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{addr: addr, pid: cmd.Process.Pid, backend: o.db, dir: dir, keep: o.keep,
		cmd: cmd, exited: make(chan struct{}), logs: newLogWatcher(logFile), binary: info}
	if o.db == "mysql" {
		s.dbPID = findDBServer()
	}
	consumed := make(chan struct{})
	go func() {
		s.logs.consume(pr)
		close(consumed)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-consumed
		s.err, s.exitedAt = err, time.Now()
		if !s.stopping.Load() {
			status := "exit status 0"
			if err != nil {
				status = err.Error()
			}
			logf("THE SERVER EXITED on its own (%s); its last log lines:\n%s", status, s.logs.tailText())
		}
		logFile.Close()
		close(s.exited)
	}()
	if err := s.waitHealthy(ctx, 60*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	ok = true
	return s, nil
}

// binaryInfo identifies the server binary that ran.
type binaryInfo struct {
	Path     string    `json:"path"`
	Modified time.Time `json:"modified"`
	SHA256   string    `json:"sha256"` // first 16 hex digits
	VCS      string    `json:"vcs,omitempty"`
}

// snapshotBinary copies the binary at src to dst and describes it.
func snapshotBinary(src, dst string, st os.FileInfo) (binaryInfo, error) {
	info := binaryInfo{Path: src, Modified: st.ModTime().UTC()}
	in, err := os.Open(src)
	if err != nil {
		return info, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return info, err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return info, fmt.Errorf("copy the server binary: %w", err)
	}
	if err := out.Close(); err != nil {
		return info, err
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))[:16]
	if bi, err := buildinfo.ReadFile(dst); err == nil {
		var rev, modified string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				modified = kv.Value
			}
		}
		if rev != "" {
			info.VCS = rev
			if modified == "true" {
				info.VCS += " (modified)"
			}
		}
	}
	return info, nil
}

// attachServer uses a running server at addr; logPath (its log, for activation
// links) and pid (for RSS) are optional but needed for the full picture.
func attachServer(ctx context.Context, addr, logPath string, pid int) (*server, error) {
	if err := loopbackOnly(addr); err != nil {
		return nil, err
	}
	s := &server{addr: addr, pid: pid, backend: "attached", exited: make(chan struct{})}
	s.logs = newLogWatcher(nil)
	if logPath != "" {
		f, err := os.Open(logPath)
		if err != nil {
			return nil, err
		}
		go s.logs.consume(&tail{ctx: ctx, f: f})
	}
	if err := s.waitHealthy(ctx, 10*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

// loopbackOnly refuses any address but the local machine's: this tool is a
// load generator, not something to point at other people's servers.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: want host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only a loopback address (127.0.0.1) is allowed", addr)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *server) waitHealthy(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+"/healthz", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited: %v; its log: %s", s.err, s.logs.tailText())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server at %s is not healthy after %s (last error %v)", s.addr, within, err)
		}
	}
}

// alive reports whether a started server is still running.
func (s *server) alive() bool {
	if s.cmd == nil {
		return true
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop ends a started server: SIGTERM, then SIGKILL after 15 s.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.stopping.Store(true)
	if s.alive() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if !s.keep {
		os.RemoveAll(s.dir)
	}
}

// logWatcher reads the server's log: activation links by recipient, and the
// warnings and errors, which the report shows.
type logWatcher struct {
	out io.Writer // a copy of the log, or nil

	mu      sync.Mutex
	tokens  map[string]string
	waiters map[string]chan string
	warns   int
	errs    int
	samples map[string]int // "LEVEL msg" -> count
	last    []string       // the last lines, for a server that dies at start
}

func newLogWatcher(out io.Writer) *logWatcher {
	return &logWatcher{out: out, tokens: map[string]string{}, waiters: map[string]chan string{},
		samples: map[string]int{}}
}

var (
	reToken = regexp.MustCompile(`/activate\?token=([A-Za-z0-9_-]+)`)
	reTo    = regexp.MustCompile(`(?:\bto=|"to":)"?([^"\s]+@[^"\s]+?)"?(?:\s|,|$)`)
	reLevel = regexp.MustCompile(`level=(WARN|ERROR)\b|"level":"(WARN|ERROR)"`)
	reMsg   = regexp.MustCompile(`\bmsg=("(?:[^"\\]|\\.)*"|\S+)|"msg":"((?:[^"\\]|\\.)*)"`)
)

func (w *logWatcher) consume(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if w.out != nil {
				io.WriteString(w.out, line)
			}
			w.line(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

func (w *logWatcher) line(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.last) >= 20 {
		w.last = w.last[1:]
	}
	w.last = append(w.last, truncate(line, 400))
	if strings.Contains(line, "activate?token=") {
		tm, em := reToken.FindStringSubmatch(line), reTo.FindStringSubmatch(line)
		if tm != nil && em != nil {
			email := strings.ToLower(em[1])
			w.tokens[email] = tm[1]
			if ch, ok := w.waiters[email]; ok {
				ch <- tm[1]
				delete(w.waiters, email)
			}
		}
	}
	if m := reLevel.FindStringSubmatch(line); m != nil {
		level := m[1] + m[2]
		if level == "WARN" {
			w.warns++
		} else {
			w.errs++
		}
		msg := ""
		if mm := reMsg.FindStringSubmatch(line); mm != nil {
			msg = strings.Trim(mm[1]+mm[2], `"`)
		}
		key := level + " " + truncate(msg, 120)
		if _, seen := w.samples[key]; seen || len(w.samples) < 50 {
			w.samples[key]++
		}
	}
}

// token waits for the activation link mailed to email.
func (w *logWatcher) token(ctx context.Context, email string, within time.Duration) (string, error) {
	email = strings.ToLower(email)
	w.mu.Lock()
	if t, ok := w.tokens[email]; ok {
		delete(w.tokens, email)
		w.mu.Unlock()
		return t, nil
	}
	ch := make(chan string, 1)
	w.waiters[email] = ch
	w.mu.Unlock()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case t := <-ch:
		return t, nil
	case <-ctx.Done():
	case <-timer.C:
	}
	w.mu.Lock()
	delete(w.waiters, email)
	w.mu.Unlock()
	return "", fmt.Errorf("no activation link for %s in the server log within %s (is -server-log the log of this server, and is SMTP off?)", email, within)
}

// counts returns the warnings and errors logged so far and the kinds seen.
func (w *logWatcher) counts() (warns, errs int, samples map[string]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	samples = make(map[string]int, len(w.samples))
	for k, v := range w.samples {
		samples[k] = v
	}
	return w.warns, w.errs, samples
}

func (w *logWatcher) tailText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.last, "\n")
}

// tail reads a growing file until ctx ends.
type tail struct {
	ctx context.Context
	f   *os.File
}

func (t *tail) Read(p []byte) (int, error) {
	for {
		n, err := t.f.Read(p)
		if n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
			return n, err
		}
		select {
		case <-t.ctx.Done():
			t.f.Close()
			return 0, io.EOF
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// procStats are the kernel's figures of a process.
type procStats struct {
	RSSKiB  int64   // VmRSS
	PeakKiB int64   // VmHWM
	CPUSec  float64 // user + system
}

// readProc reads /proc/<pid>; ok is false when pid is 0 or gone.
func readProc(pid int) (procStats, bool) {
	if pid <= 0 {
		return procStats{}, false
	}
	var st procStats
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			st.RSSKiB = n
		case "VmHWM":
			st.PeakKiB = n
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name (which may hold spaces) in parentheses.
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				ut, _ := strconv.ParseFloat(f[11], 64)
				stime, _ := strconv.ParseFloat(f[12], 64)
				st.CPUSec = (ut + stime) / 100 // USER_HZ is 100 on Linux
			}
		}
	}
	return st, true
}

// machineBusy returns the CPU seconds all processors have spent busy since boot
// (from /proc/stat: user, nice, system, irq and softirq), those stolen by the
// hypervisor, and the 1-minute load average.
func machineBusy() (busySec, stealSec, load1 float64) {
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) > 5 && f[0] == "cpu" {
			var total float64
			for i, v := range f[1:] {
				x, _ := strconv.ParseFloat(v, 64)
				if i == 3 || i == 4 { // idle, iowait
					continue
				}
				if i == 7 {
					stealSec = x / 100
				}
				if i >= 7 { // steal (another VM's), and guest (in user already)
					break
				}
				total += x
			}
			busySec = total / 100
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load1, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return busySec, stealSec, load1
}

// findDBServer returns the pid of the local MariaDB or MySQL server, or 0.
func findDBServer() int {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/comm")
		if err != nil {
			continue
		}
		switch strings.TrimSpace(string(b)) {
		case "mariadbd", "mysqld":
			return pid
		}
	}
	return 0
}

// selfCPU returns this process's user and system CPU seconds and peak RSS.
func selfCPU() (user, sys float64, maxRSSKiB int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, 0
	}
	return tv(ru.Utime), tv(ru.Stime), ru.Maxrss
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
