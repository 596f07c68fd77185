package marketing

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/pg"
)

// RFM scores, 1 (worst) to 5 (best), on fixed thresholds a growth team reads at a
// glance (days since the last order, orders, spend in yuan) rather than on quintiles
// that move every night; the thresholds are the cut points below.
var (
	rfmRecencyDays = [4]float64{180, 90, 30, 7} // > 180 days: 1 ... ≤ 7 days: 5
	rfmFrequency   = [4]int64{2, 3, 5, 10}      // 1 order: 1 ... ≥ 10: 5
	rfmMonetary    = [4]int64{50, 150, 400, 1000}
)

// rfmScore scores a member; a member who never ordered has no score (zeros).
func rfmScore(now time.Time, last *time.Time, orders, spendFen int64) [3]int16 {
	if last == nil || orders == 0 {
		return [3]int16{}
	}
	days := now.Sub(*last).Hours() / 24
	r := int16(1)
	for _, d := range rfmRecencyDays {
		if days <= d {
			r++
		}
	}
	f := int16(1)
	for _, n := range rfmFrequency {
		if orders >= n {
			f++
		}
	}
	m := int16(1)
	for _, y := range rfmMonetary {
		if spendFen/100 >= y {
			m++
		}
	}
	return [3]int16{r, f, m}
}

// rfmBatch is how many members one scoring statement updates.
const rfmBatch = 50000

// ScoreRFM scores every member who ordered (the nightly marketing:rfm) and logs the
// members whose scores changed for the indexes. It returns how many changed.
func (s *Service) ScoreRFM(ctx context.Context) (int64, error) {
	now := s.now()
	var changed int64
	var maxSeq int32
	if err := s.db.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM marketing.members`).Scan(&maxSeq); err != nil {
		return 0, fmt.Errorf("marketing: rfm: %w", err)
	}
	for lo := int32(0); lo <= maxSeq; lo += rfmBatch {
		var n int64
		err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT seq, last_order_at, orders_count, spend_fen, rfm_r, rfm_f, rfm_m FROM marketing.members
WHERE seq >= $1 AND seq < $2 AND last_order_at IS NOT NULL`, lo, lo+rfmBatch)
			if err != nil {
				return err
			}
			var seqs []int32
			var r, f, m []int16
			for rows.Next() {
				var seq int32
				var last time.Time
				var orders int32
				var spend int64
				var old [3]int16
				if err := rows.Scan(&seq, &last, &orders, &spend, &old[0], &old[1], &old[2]); err != nil {
					rows.Close()
					return err
				}
				if sc := rfmScore(now, &last, int64(orders), spend); sc != old {
					seqs = append(seqs, seq)
					r, f, m = append(r, sc[0]), append(f, sc[1]), append(m, sc[2])
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil || len(seqs) == 0 {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE marketing.members m SET rfm_r = u.r, rfm_f = u.f, rfm_m = u.m
FROM unnest($1::int[], $2::int2[], $3::int2[], $4::int2[]) AS u(seq, r, f, m) WHERE m.seq = u.seq`, seqs, r, f, m); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO marketing.member_changes (seq) SELECT unnest($1::int[])`, seqs)
			n = int64(len(seqs))
			return err
		})
		if err != nil {
			return changed, fmt.Errorf("marketing: rfm: %w", err)
		}
		changed += n
	}
	s.log.InfoContext(ctx, "marketing: rfm scored", "changed", changed)
	return changed, nil
}
