package marketing

import (
	"syscall"
	"testing"
	"time"
)

// An index of synthetic members built in memory (no database): the cost of
// evaluating a five-condition rule, uncached.
func BenchmarkFiveConditionCount(b *testing.B) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	g := synth{seed: 42, now: now, base: 1}
	x := newIndex()
	for i := range uint64(1_000_000) {
		m := g.member(i)
		f := memberFacts{Seq: uint32(m.seq), JoinedAt: m.joined, Gender: m.gender, City: m.city, Tier: m.tier, Tags: m.tags,
			Points: m.points, Orders: int64(m.orders), SpendFen: m.spend, LastOrderAt: m.last, RFM: m.rfm, Categories: m.cats}
		x.add(&f)
	}
	x.optimizeParallel()
	e := evaluator{x: x, today: dayOf(now), tiers: []string{"member", "silver", "gold", "platinum"}, noCache: true}
	b.ResetTimer()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	defer func() {
		syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
		b.ReportMetric(float64((r1.Utime.Nano()+r1.Stime.Nano())-(r0.Utime.Nano()+r0.Stime.Nano()))/float64(b.N), "cpu-ns/op")
	}()
	for i := range b.N {
		rule := Rule{And: []Rule{
			{Field: "city", Values: []string{"上海", "北京"}},
			{Field: "category_within_days", Category: "coffee", Value: int64(10 + i%300)},
			{Not: &Rule{Field: "ordered_within_days", Value: int64(1 + i%30)}},
			{Field: "tier_at_least", Values: []string{"silver"}},
			{Or: []Rule{{Field: "tag", Values: []string{"白领"}}, {Field: "points_balance", Op: "gte", Value: int64(500 + i*7)}}},
		}}
		r, err := e.eval(&rule, "rule")
		if err != nil {
			b.Fatal(err)
		}
		_ = r.b.GetCardinality()
	}
}
