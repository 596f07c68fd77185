package merchant

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
)

// Codes of the pool's rules refusing a claim, an assignment, a transfer or a reopen.
// Every refusal is a *Refusal naming the rule and its numbers.
const (
	CodeNotInPool  = "merchant.lead_not_in_pool" // someone holds it (the losing claim of a race)
	CodeHoldingCap = "merchant.holding_cap"      // the rep holds as many open leads as the pool allows
	CodeDailyQuota = "merchant.daily_quota"      // the rep made as many claims today as the pool allows
	CodeCooldown   = "merchant.cooldown"         // the rep held this lead within the cooldown
	CodeProtected  = "merchant.pool_protected"   // the lead came back to the pool too recently
	CodeLocked     = "merchant.lead_locked"      // the pool's admins locked the lead
)

// Refusal is a rule's refusal: an errs.Error (409) with the numbers that made it, so
// the console can say them in the user's language ("error.<code>" with Params).
type Refusal struct {
	Err    *errs.Error
	Params map[string]any
}

func (r *Refusal) Error() string { return r.Err.Error() }

// Unwrap exposes the errs.Error, so errs.As and the HTTP rendering find it.
func (r *Refusal) Unwrap() error { return r.Err }

func refuse(code string, params map[string]any, format string, args ...any) error {
	return &Refusal{Err: errs.E(errs.KindConflict, code, fmt.Sprintf(format, args...)), Params: params}
}

// shanghaiDate is the Asia/Shanghai calendar day of t as yyyy-MM-dd.
func shanghaiDate(t time.Time) string { return t.In(clock.Shanghai).Format(time.DateOnly) }

// checkHoldingCap refuses giving rep one more open lead when they hold the pool's cap.
// The caller holds the rep's lock (LockRep), so concurrent grants cannot overshoot.
func checkHoldingCap(ctx context.Context, q *merchantdb.Queries, rep uuid.UUID, pool merchantdb.MerchantPool) error {
	held, err := q.CountHeld(ctx, nullUUID(rep))
	if err != nil {
		return err
	}
	if held >= int64(pool.HoldingCap) {
		return refuse(CodeHoldingCap, map[string]any{"Held": held, "Cap": pool.HoldingCap},
			"holding cap: %d open leads held, the cap is %d; release or close one first", held, pool.HoldingCap)
	}
	return nil
}

// checkClaim applies the claim-only rules: locked, new-in-pool protection, the daily
// quota and the former-owner cooldown. now is the claim's time.
func checkClaim(ctx context.Context, q *merchantdb.Queries, rep uuid.UUID, pool merchantdb.MerchantPool, l merchantdb.MerchantLead, now time.Time) error {
	if l.Locked {
		return refuse(CodeLocked, nil, "locked: the pool's admins locked this lead; it cannot be claimed")
	}
	if l.ProtectedUntil != nil && now.Before(*l.ProtectedUntil) {
		at := l.ProtectedUntil.In(clock.Shanghai).Format("2006-01-02 15:04")
		return refuse(CodeProtected, map[string]any{"Hours": pool.ProtectHours, "Until": at},
			"new-in-pool protection: the lead came back to the pool less than %d hours ago; claimable from %s", pool.ProtectHours, at)
	}
	if pool.DailyQuota > 0 {
		n, err := q.CountClaimsSince(ctx, merchantdb.CountClaimsSinceParams{RepID: nullUUID(rep), Since: clock.Day(now)})
		if err != nil {
			return err
		}
		if n >= int64(pool.DailyQuota) {
			return refuse(CodeDailyQuota, map[string]any{"Claimed": n, "Quota": pool.DailyQuota},
				"daily quota: %d claims today, the quota is %d a day (releases are not refunded)", n, pool.DailyQuota)
		}
	}
	if pool.CooldownDays > 0 {
		since := clock.Day(now).AddDate(0, 0, 1-int(pool.CooldownDays))
		last, err := q.LastHeldSince(ctx, merchantdb.LastHeldSinceParams{LeadID: l.ID, RepID: nullUUID(rep), Since: since})
		if err != nil {
			return err
		}
		if !last.Before(since) {
			from := shanghaiDate(clock.Day(last).AddDate(0, 0, int(pool.CooldownDays)))
			return refuse(CodeCooldown, map[string]any{"Days": pool.CooldownDays, "Left": shanghaiDate(last), "From": from},
				"cooldown: you gave this lead up on %s; a former owner may claim it again after %d days, from %s",
				shanghaiDate(last), pool.CooldownDays, from)
		}
	}
	return nil
}
