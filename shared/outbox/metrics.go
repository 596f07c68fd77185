package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// Metrics are the relay's counters and the backlog gauges read at scrape time.
type Metrics struct {
	relayed    prometheus.Counter
	duplicates prometheus.Counter
	redriven   prometheus.Counter
	// dispatched and dispatchFailures count the Dispatcher's closed deliveries and its
	// deliveries put off after failing on their own.
	dispatched       prometheus.Counter
	dispatchFailures prometheus.Counter
	lag              prometheus.Histogram
	db               *pgxpool.Pool
}

// NewMetrics registers the relay's metrics and a collector of the backlog (rows not
// yet sent and the age of the oldest) on reg.
func NewMetrics(reg prometheus.Registerer, db *pgxpool.Pool) *Metrics {
	m := &Metrics{
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_outbox_relayed_total", Help: "Outbox events enqueued on asynq and marked sent."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_outbox_taskid_conflicts_total", Help: "Events in enqueues refused by asynq because the task existed (a relay died before its commit)."}),
		redriven: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_outbox_redriven_total", Help: "Deliveries enqueued again by the re-driver because asynq had lost their task."}),
		dispatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_outbox_dispatched_total", Help: "Deliveries of batched subscriptions run and closed by the dispatcher."}),
		dispatchFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_outbox_dispatch_failures_total", Help: "Deliveries of batched subscriptions that failed on their own and were put off."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tandem_outbox_lag_seconds", Help: "Time from an event's commit to its enqueue.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
		db: db,
	}
	reg.MustRegister(m.relayed, m.duplicates, m.redriven, m.dispatched, m.dispatchFailures, m.lag, &backlogCollector{db: db})
	return m
}

// Undelivered is the state of delivery for /readyz: deliveries (event × subscriber)
// whose handler has not committed yet, and the age of the oldest.
type Undelivered struct {
	Count         int64   `json:"undelivered"`
	OldestSeconds float64 `json:"oldest_undelivered_seconds"`
}

// Undelivered reads the deliveries not done.
func (m *Metrics) Undelivered(ctx context.Context) (Undelivered, error) {
	u, err := platformdb.New(m.db).OutboxUndelivered(ctx)
	if err != nil {
		return Undelivered{}, fmt.Errorf("outbox: undelivered: %w", err)
	}
	return Undelivered{Count: u.Undelivered, OldestSeconds: u.OldestSeconds}, nil
}

// observeSent counts a committed batch's rows but those that failed (by index).
func (m *Metrics) observeSent(rows []claimed, failed map[int]bool) {
	m.relayed.Add(float64(len(rows) - len(failed)))
	now := time.Now()
	for i, r := range rows {
		if !failed[i] {
			m.lag.Observe(now.Sub(r.CreatedAt).Seconds())
		}
	}
}

var (
	backlogDesc     = prometheus.NewDesc("tandem_outbox_backlog", "Outbox events committed but not yet enqueued.", nil, nil)
	oldestDesc      = prometheus.NewDesc("tandem_outbox_oldest_unsent_seconds", "Age of the oldest unsent outbox event (0 when none).", nil, nil)
	undeliveredDesc = prometheus.NewDesc("tandem_outbox_undelivered", "Deliveries (event x subscriber) enqueued whose handler has not committed yet.", nil, nil)
	oldestUndDesc   = prometheus.NewDesc("tandem_outbox_oldest_undelivered_seconds", "Time since the first enqueue of the oldest delivery not done (0 when none).", nil, nil)
)

type backlogCollector struct{ db *pgxpool.Pool }

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- oldestDesc
	ch <- undeliveredDesc
	ch <- oldestUndDesc
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := platformdb.New(c.db).OutboxBacklog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(backlogDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(b.Unsent))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, b.OldestSeconds)
	u, err := platformdb.New(c.db).OutboxUndelivered(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(undeliveredDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(undeliveredDesc, prometheus.GaugeValue, float64(u.Undelivered))
	ch <- prometheus.MustNewConstMetric(oldestUndDesc, prometheus.GaugeValue, u.OldestSeconds)
}
