package consumer

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Lot is one credit of points and what is left of it.
type Lot struct {
	ID          uuid.UUID  `json:"id"`
	Kind        string     `json:"kind"`
	State       string     `json:"state"`
	OrderID     *uuid.UUID `json:"order_id,omitempty"`
	Points      int64      `json:"points"`
	Remaining   int64      `json:"remaining"`
	Spent       int64      `json:"spent"`
	Reversed    int64      `json:"reversed"`
	Expired     int64      `json:"expired"`
	EarnedAt    time.Time  `json:"earned_at"`
	AvailableAt time.Time  `json:"available_at"`
	ExpiresAt   time.Time  `json:"expires_at"` // exclusive
	// LastDay is the lot's last day (Asia/Shanghai), as a member reads it.
	LastDay string `json:"last_day"`
}

func lotOf(r consumerdb.ConsumerPointsLot) Lot {
	l := Lot{ID: r.ID, Kind: r.Kind, State: r.State, Points: int64(r.Points), Remaining: int64(r.Remaining),
		Spent: int64(r.Spent), Reversed: int64(r.Reversed), Expired: int64(r.Expired), EarnedAt: r.EarnedAt,
		AvailableAt: r.AvailableAt, ExpiresAt: r.ExpiresAt, LastDay: lastDay(r.ExpiresAt)}
	if r.OrderID.Valid {
		o := r.OrderID.UUID
		l.OrderID = &o
	}
	return l
}

func lastDay(expiresAt time.Time) string {
	return expiresAt.Add(-time.Second).In(shanghai).Format(time.DateOnly)
}

// Expiring is how many points expire on a day.
type Expiring struct {
	LastDay string `json:"last_day"`
	Points  int64  `json:"points"`
}

// PointsView is a member's points: what can be spent, what is pending, the lots and
// what expires when.
type PointsView struct {
	Balance     int64      `json:"balance"` // spendable now
	Pending     int64      `json:"pending"` // inside the refund window
	EarnedTotal int64      `json:"earned_total"`
	Lots        []Lot      `json:"lots"`
	Expiring    []Expiring `json:"expiring"` // by last day, soonest first
}

// MyPoints is the member's own points with lots (consumerID is the authenticated consumer).
func (s *Service) MyPoints(ctx context.Context, consumerID uuid.UUID) (PointsView, error) {
	return s.pointsView(ctx, consumerID)
}

// MemberPoints is a member's points for the staff caller (consumer.member.read, scope all).
func (s *Service) MemberPoints(ctx context.Context, caller *identity.Principal, consumerID uuid.UUID) (PointsView, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return PointsView{}, err
	}
	return s.pointsView(ctx, consumerID)
}

func (s *Service) pointsView(ctx context.Context, consumerID uuid.UUID) (PointsView, error) {
	q := consumerdb.New(s.db)
	m, err := s.memberRow(ctx, consumerID)
	if err != nil {
		return PointsView{}, err
	}
	rows, err := q.MemberLots(ctx, consumerID)
	if err != nil {
		return PointsView{}, wrap("lots", err)
	}
	v := PointsView{Balance: m.Balance, Pending: m.Pending, EarnedTotal: m.EarnedTotal, Lots: []Lot{}, Expiring: []Expiring{}}
	now := s.now()
	for _, r := range rows {
		l := lotOf(r)
		v.Lots = append(v.Lots, l)
		if l.Remaining == 0 || l.State != LotActive || !l.ExpiresAt.After(now) {
			continue
		}
		if n := len(v.Expiring); n > 0 && v.Expiring[n-1].LastDay == l.LastDay {
			v.Expiring[n-1].Points += l.Remaining
		} else {
			v.Expiring = append(v.Expiring, Expiring{LastDay: l.LastDay, Points: l.Remaining})
		}
	}
	return v, nil
}

// Liability is the points the platform owes its members.
type Liability struct {
	Outstanding int64            `json:"outstanding"` // spendable
	Pending     int64            `json:"pending"`
	Members     int64            `json:"members"` // with any points
	ByMonth     []LiabilityMonth `json:"by_month"`
	Forgiven    int64            `json:"forgiven"` // refunded orders' points members had spent
	Refunds     int64            `json:"forgiven_refunds"`
}

// LiabilityMonth is what expires in a month (YYYY-MM, Asia/Shanghai) unless spent.
type LiabilityMonth struct {
	Month   string `json:"month"`
	Points  int64  `json:"points"`
	Members int64  `json:"members"`
}

// Liability is the points liability report (consumer.member.read at scope all).
func (s *Service) Liability(ctx context.Context, caller *identity.Principal) (Liability, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return Liability{}, err
	}
	q := consumerdb.New(s.db)
	t, err := q.LiabilityTotals(ctx)
	if err != nil {
		return Liability{}, wrap("liability", err)
	}
	f, err := q.ForgivenTotal(ctx)
	if err != nil {
		return Liability{}, wrap("liability forgiven", err)
	}
	months, err := q.LiabilityByMonth(ctx)
	if err != nil {
		return Liability{}, wrap("liability by month", err)
	}
	out := Liability{Outstanding: t.Balance, Pending: t.Pending, Members: t.Members, Forgiven: f.Forgiven, Refunds: f.Refunds,
		ByMonth: make([]LiabilityMonth, len(months))}
	for i, m := range months {
		out.ByMonth[i] = LiabilityMonth{Month: m.Month, Points: m.Points, Members: m.Members}
	}
	return out, nil
}
