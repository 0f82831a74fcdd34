package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a token bucket: Burst requests at once, refilled at PerMinute.
type Limit struct {
	PerMinute float64
	Burst     int
}

// ipLimiter keeps one token bucket per client address, forgetting addresses idle
// for ten minutes so its memory stays bounded.
type ipLimiter struct {
	limit Limit

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const (
	limiterIdle     = 10 * time.Minute
	limiterMaxSize  = 100_000
	limiterSweepGap = time.Minute
)

func newIPLimiter(l Limit) *ipLimiter {
	return &ipLimiter{limit: l, buckets: map[string]*bucket{}}
}

// wait takes a token for ip at now; it returns 0 when one was free, else how long
// until one will be.
func (l *ipLimiter) wait(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > limiterSweepGap || len(l.buckets) >= limiterMaxSize {
		l.sweep(now)
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.limit.PerMinute/60), l.limit.Burst)}
		l.buckets[ip] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

func (l *ipLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for ip, b := range l.buckets {
		if now.Sub(b.seen) > limiterIdle {
			delete(l.buckets, ip)
		}
	}
	if len(l.buckets) >= limiterMaxSize { // under a flood of addresses: start afresh
		clear(l.buckets)
	}
}
