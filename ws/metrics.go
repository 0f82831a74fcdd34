package ws

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the hub's and the bus's Prometheus metrics. main makes one set on
// its registry and hands it to both; a hub without metrics counts into a
// registry nobody reads.
type Metrics struct {
	Connections prometheus.Gauge         // sockets open on this node
	Sent        *prometheus.CounterVec   // message.send frames by result: stored, duplicate, error
	Delivered   *prometheus.CounterVec   // frames queued on sockets, by path: local, remote
	Latency     *prometheus.HistogramVec // publish (right after the commit) → frame queued on a socket, by path
	QueueDrops  prometheus.Counter       // sockets cut off because their send queue overflowed
	Resyncs     prometheus.Counter       // sockets closed so that their clients resync after frames were lost
	BusSent     prometheus.Counter       // envelopes this node handed to the cluster bus
	BusReceived prometheus.Counter       // envelopes this node received from the other nodes
	BusErrors   *prometheus.CounterVec   // bus failures by op: publish (envelopes lost), receive, decode
}

// Paths of a delivered frame.
const (
	pathLocal  = "local"  // published on this node
	pathRemote = "remote" // published on another node, came over the bus
)

// NewMetrics makes the metrics and registers them with reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lechat_ws_connections",
			Help: "WebSocket connections open on this node."}),
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lechat_messages_sent_total",
			Help: "message.send frames answered by this node, by result: stored (acked, new), duplicate (acked, a resend), error."},
			[]string{"result"}),
		Delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lechat_frames_delivered_total",
			Help: "Event frames queued on this node's sockets, by path: local (published here) or remote (over the cluster bus)."},
			[]string{"path"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lechat_delivery_latency_seconds",
			Help: "From an event's publication (right after its commit) to its frame queued on a socket, per frame, by path. " +
				"Remote times compare two nodes' clocks.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 14)}, // 50 µs … 7.5 s
			[]string{"path"}),
		QueueDrops: prometheus.NewCounter(prometheus.CounterOpts{Name: "lechat_ws_queue_drops_total",
			Help: "Sockets cut off (1013) because their send queue overflowed: slow consumers."}),
		Resyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "lechat_ws_resync_closes_total",
			Help: "Sockets closed (1012) so that their clients resync, after the cluster bus lost frames for them."}),
		BusSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "lechat_bus_published_total",
			Help: "Envelopes this node published on the cluster bus."}),
		BusReceived: prometheus.NewCounter(prometheus.CounterOpts{Name: "lechat_bus_received_total",
			Help: "Envelopes from other nodes received over the cluster bus."}),
		BusErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lechat_bus_errors_total",
			Help: "Cluster bus failures, by op: publish (envelopes dropped: queue full or Redis failed), receive (subscription lost), decode."},
			[]string{"op"}),
	}
	for _, p := range []string{pathLocal, pathRemote} {
		m.Delivered.WithLabelValues(p)
		m.Latency.WithLabelValues(p)
	}
	for _, r := range []string{"stored", "duplicate", "error"} {
		m.Sent.WithLabelValues(r)
	}
	for _, op := range []string{"publish", "receive", "decode"} {
		m.BusErrors.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.Connections, m.Sent, m.Delivered, m.Latency, m.QueueDrops, m.Resyncs,
			m.BusSent, m.BusReceived, m.BusErrors)
	}
	return m
}
