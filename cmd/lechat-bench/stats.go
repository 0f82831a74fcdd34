package main

import (
	"math"
	"slices"
)

// latency summarises a set of durations, in milliseconds.
type latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// summarize sorts ns (nanoseconds) in place and returns its percentiles.
func summarize(ns []int64) latency {
	if len(ns) == 0 {
		return latency{}
	}
	slices.Sort(ns)
	var sum float64
	for _, v := range ns {
		sum += float64(v)
	}
	return latency{
		Count: len(ns),
		P50:   ms(percentile(ns, 50)),
		P95:   ms(percentile(ns, 95)),
		P99:   ms(percentile(ns, 99)),
		Max:   ms(ns[len(ns)-1]),
		Mean:  sum / float64(len(ns)) / 1e6,
	}
}

// percentile returns the nearest-rank p-th percentile of sorted: the smallest
// value with at least p% of the values at or below it. 0 when sorted is empty.
func percentile(sorted []int64, p float64) int64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = max(1, min(n, rank))
	return sorted[rank-1]
}

func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }
