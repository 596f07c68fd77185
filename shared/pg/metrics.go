package pg

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports a pool's statistics to Prometheus, read at scrape time.
type PoolCollector struct {
	pool *pgxpool.Pool
	desc map[string]*prometheus.Desc
}

var poolMetrics = map[string]string{
	"acquired_conns":                 "Connections in use.",
	"idle_conns":                     "Idle connections.",
	"total_conns":                    "Open connections.",
	"max_conns":                      "Pool size limit.",
	"acquire_total":                  "Connections acquired since start.",
	"empty_acquire_total":            "Acquires that had to wait because no connection was idle.",
	"canceled_acquire_total":         "Acquires cancelled by their context.",
	"acquire_duration_seconds_total": "Time spent acquiring connections.",
}

// NewPoolCollector returns the collector; register it once per pool.
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector {
	c := &PoolCollector{pool: pool, desc: map[string]*prometheus.Desc{}}
	for name, help := range poolMetrics {
		c.desc[name] = prometheus.NewDesc("tandem_pgx_pool_"+name, help, nil, nil)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.desc {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.desc[name], prometheus.GaugeValue, v)
	}
	counter := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.desc[name], prometheus.CounterValue, v)
	}
	gauge("acquired_conns", float64(s.AcquiredConns()))
	gauge("idle_conns", float64(s.IdleConns()))
	gauge("total_conns", float64(s.TotalConns()))
	gauge("max_conns", float64(s.MaxConns()))
	counter("acquire_total", float64(s.AcquireCount()))
	counter("empty_acquire_total", float64(s.EmptyAcquireCount()))
	counter("canceled_acquire_total", float64(s.CanceledAcquireCount()))
	counter("acquire_duration_seconds_total", s.AcquireDuration().Seconds())
}
