package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
)

// benchLoyaltyCmd is `tandem bench loyalty`: points earned and redeemed through the
// service, the expiry job over a million lots, and a coupon batch claimed by many more
// consumers than it has coupons.
func benchLoyaltyCmd() *cobra.Command {
	var ops, workers, lots, claims, stock int
	var full bool
	var only, cpuProfile string
	cmd := &cobra.Command{
		Use:   "loyalty",
		Short: "Loyalty: earn+redeem ops/s and p99, the expiry job over --lots lots, --claims concurrent claims of a --stock coupon batch (reduced sizes; --full: the issue's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if full { // the sizes: a quiet machine's run
				ops, lots, claims, stock = 20_000, 1_000_000, 10_000, 1_000
			}
			return withBenchEnv(cmd, func(ctx context.Context, db *pgxpool.Pool, _ asynq.RedisClientOpt) error {
				svc := consumer.New(domain.Deps{DB: db}, consumer.Ports{}, consumer.Config{})
				w := cmd.OutOrStdout()
				if cpuProfile != "" {
					f, err := os.Create(cpuProfile)
					if err != nil {
						return err
					}
					defer f.Close()
					if err := pprof.StartCPUProfile(f); err != nil {
						return err
					}
					defer pprof.StopCPUProfile()
				}
				run := func(part string) bool { return only == "" || only == part }
				if run("earn") {
					if err := benchEarnRedeem(ctx, w, db, svc, ops, workers); err != nil {
						return err
					}
				}
				if run("expiry") {
					if err := benchExpiry(ctx, w, db, svc, lots); err != nil {
						return err
					}
				}
				if run("claims") {
					return benchClaims(ctx, w, db, svc, claims, stock)
				}
				return nil
			})
		},
	}
	// The defaults are reduced, for a machine others share; --full is the scale.
	cmd.Flags().IntVar(&ops, "ops", 4_000, "earn and redeem operations (half each)")
	cmd.Flags().IntVar(&workers, "workers", 16, "goroutines calling the service")
	cmd.Flags().IntVar(&lots, "lots", 200_000, "lots due for the expiry job")
	cmd.Flags().IntVar(&claims, "claims", 2_000, "concurrent claims")
	cmd.Flags().IntVar(&stock, "stock", 200, "the batch's stock")
	cmd.Flags().StringVar(&only, "only", "", "run one part: earn, expiry or claims")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	cmd.Flags().BoolVar(&full, "full", false, "the issue's sizes: 20,000 ops, 1,000,000 lots, 10,000 claims of 1,000 coupons")
	return cmd
}

// benchMembers adds n members with empty points (bench data, straight into the table).
func benchMembers(ctx context.Context, db *pgxpool.Pool, n int, prefix string) ([]uuid.UUID, error) {
	rows, err := db.Query(ctx, `WITH m AS (
	    INSERT INTO consumer.members (id, phone, joined_at)
	    SELECT gen_random_uuid(), $2 || lpad(i::text, 8, '0'), now() FROM generate_series(1, $1) i RETURNING id)
	INSERT INTO consumer.points_balances (consumer_id, balance, updated_at) SELECT id, 0, now() FROM m RETURNING consumer_id`, n, prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, len(lat)*99/100)]
}

func benchEarnRedeem(ctx context.Context, w io.Writer, db *pgxpool.Pool, svc *consumer.Service, ops, workers int) error {
	members, err := benchMembers(ctx, db, 1000, "137")
	if err != nil {
		return err
	}
	// Not measured: every member's first credit (it makes their tier row, once in a
	// member's life), so the measured operations are a running program's.
	for _, id := range members {
		if _, err := svc.CreditPoints(ctx, consumer.CreditRequest{ConsumerID: id, Points: 100, SourceKey: "bench:first:" + id.String(), Reason: "bench"}); err != nil {
			return err
		}
	}
	meter, err := startCPUMeter(ctx, db)
	if err != nil {
		return err
	}
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	errc := make(chan error, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(ops) {
					return
				}
				// consecutive operations are different members' (earn, redeem, earn, ...),
				// as a real program's are, rather than one member's earn and redemption
				// waiting on each other's commit
				id := members[i%int64(len(members))]
				t := time.Now()
				var err error
				if (i+i/int64(len(members)))%2 == 0 { // a member earns and redeems in turn
					_, err = svc.CreditPoints(ctx, consumer.CreditRequest{ConsumerID: id, Points: 100, SourceKey: fmt.Sprintf("bench:%d", i), Reason: "bench"})
				} else {
					_, err = svc.Redeem(ctx, id, consumer.RedeemRequest{Points: 60, Key: fmt.Sprintf("bench-%d", i)})
				}
				if err != nil && !errs.Is(err, consumer.CodePointsInsufficient) {
					errc <- err
					return
				}
				lat[g] = append(lat[g], time.Since(t))
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	select {
	case err := <-errc:
		return err
	default:
	}
	cpu, err := meter.stop(ctx)
	if err != nil {
		return err
	}
	all := slices.Concat(lat...)
	fmt.Fprintf(w, "| loyalty: earn (a lot) + redeem (soonest-expiring lots first), %d ops over 1,000 members (one credit each before), %d goroutines | %.0f ops/s | p99 %.1f ms; %s |\n",
		ops, workers, float64(len(all))/took.Seconds(), ms(p99(all)), cpu.per(int64(len(all)), 2))
	return nil
}

func benchExpiry(ctx context.Context, w io.Writer, db *pgxpool.Pool, svc *consumer.Service, lots int) error {
	perMember := 10
	members := max(lots/perMember, 1)
	t0 := time.Now()
	if _, err := benchMembers(ctx, db, members, "138"); err != nil {
		return err
	}
	// Lots earned thirteen months ago, due now; balances and entries that add up.
	if _, err := db.Exec(ctx, `INSERT INTO consumer.points_lots (id, consumer_id, source_key, kind, state, points, remaining, earned_at, available_at, expires_at)
	    SELECT gen_random_uuid(), b.id, 'bench-lot:' || b.id || ':' || j, 'action', 'active', 10, 10,
	           now() - interval '13 months', now() - interval '13 months', now() - interval '1 hour'
	    FROM consumer.members b CROSS JOIN generate_series(1, $1) j WHERE b.phone LIKE '138%'`, perMember); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `UPDATE consumer.points_balances SET balance = balance + $1 * 10
	    WHERE consumer_id IN (SELECT id FROM consumer.members WHERE phone LIKE '138%')`, perMember); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `ANALYZE consumer.points_lots; ANALYZE consumer.points_balances`); err != nil {
		return err
	}
	setup := time.Since(t0)
	meter, err := startCPUMeter(ctx, db)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := svc.ExpireLots(ctx)
	if err != nil {
		return err
	}
	took := time.Since(start)
	cpu, err := meter.stop(ctx)
	if err != nil {
		return err
	}
	again, err := svc.ExpireLots(ctx)
	if err != nil {
		return err
	}
	if again.Points != 0 {
		return fmt.Errorf("a second expiry run expired %d points", again.Points)
	}
	fmt.Fprintf(w, "| loyalty: expiry job over %d due lots of %d members (setup %s) | %s (%.0f lots/s); %d points expired, a second run expires nothing; %s |\n",
		members*perMember, members, setup.Round(time.Second), took.Round(time.Millisecond), float64(members*perMember)/took.Seconds(), res.Points,
		cpu.per(int64(members*perMember), 2))
	return nil
}

func benchClaims(ctx context.Context, w io.Writer, db *pgxpool.Pool, svc *consumer.Service, claims, stock int) error {
	members, err := benchMembers(ctx, db, claims, "139")
	if err != nil {
		return err
	}
	var tplID, batchID uuid.UUID = uuid.New(), uuid.New()
	if _, err := db.Exec(ctx, `INSERT INTO consumer.coupon_templates (id, name, kind, amount_fen, threshold_fen, valid_days, created_at)
	    VALUES ($1, 'bench', 'amount', 1000, 10000, 30, now())`, tplID); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `INSERT INTO consumer.coupon_batches (id, template_id, name, stock, per_member, claimable, created_at)
	    VALUES ($1, $2, 'bench', $3, 1, true, now())`, batchID, tplID, stock); err != nil {
		return err
	}
	var issued, refused atomic.Int64
	errc := make(chan error, 1)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			_, err := svc.ClaimCoupon(ctx, id, batchID)
			switch {
			case err == nil:
				issued.Add(1)
			case errs.Is(err, consumer.CodeCouponOutOfStock):
				refused.Add(1)
			default:
				select {
				case errc <- err:
				default:
				}
			}
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	took := time.Since(start)
	select {
	case err := <-errc:
		return err
	default:
	}
	var rows int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM consumer.coupons WHERE batch_id = $1`, batchID).Scan(&rows); err != nil {
		return err
	}
	if issued.Load() != int64(stock) || rows != stock {
		return fmt.Errorf("issued %d (%d rows) of a batch of %d", issued.Load(), rows, stock)
	}
	fmt.Fprintf(w, "| loyalty: %d concurrent claims of a batch of %d | exactly %d issued, %d refused out of stock; %.0f claims/s (%s) |\n",
		claims, stock, rows, refused.Load(), float64(claims)/took.Seconds(), took.Round(time.Millisecond))
	return nil
}
