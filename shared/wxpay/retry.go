package wxpay

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/tandemcrm/tandem/shared/errs"
)

// RetryPolicy says how often and how patiently an idempotent call is retried.
// Only errors whose kind is retryable (unavailable, time-out, too many requests)
// are retried; calls that are not idempotent (prepay, close) are tried once and
// the caller decides, usually by querying the order.
type RetryPolicy struct {
	Attempts int           // total tries, at least 1
	Base     time.Duration // first back-off; doubles each time
	Max      time.Duration // cap of one back-off
}

// DefaultRetryPolicy: three tries, 200 ms then 400 ms (with full jitter).
var DefaultRetryPolicy = RetryPolicy{Attempts: 3, Base: 200 * time.Millisecond, Max: 5 * time.Second}

// call runs fn once, or under the retry policy when idempotent, each attempt
// bounded by the call time-out. fn returns an error already mapped by apiError.
func (c *Client) call(ctx context.Context, op string, idempotent bool, fn func(ctx context.Context) error) error {
	return c.callWithin(ctx, op, idempotent, c.cfg.callTimeout, fn)
}

// callWithin is call with its own per-attempt time-out (bill downloads are long).
func (c *Client) callWithin(ctx context.Context, op string, idempotent bool, timeout time.Duration,
	fn func(ctx context.Context) error,
) error {
	attempts := c.cfg.retry.Attempts
	if !idempotent || attempts < 1 {
		attempts = 1
	}
	var err error
	for try := 1; ; try++ {
		err = attempt(ctx, timeout, fn)
		if err == nil {
			return nil
		}
		var final finalError
		if errors.As(err, &final) {
			return final.err
		}
		kind := errs.KindOf(err)
		if try >= attempts || !kind.Retryable() || ctx.Err() != nil {
			return err
		}
		wait := c.cfg.retry.backoff(try, kind)
		c.logger.WarnContext(ctx, "wxpay call failed, retrying", "op", op, "attempt", try, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func attempt(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return fn(ctx)
}

// finalError marks an error the retry loop must return as it is, whatever its
// kind: a bill download that already wrote bytes to the caller cannot be redone.
type finalError struct{ err error }

func (f finalError) Error() string { return f.err.Error() }
func (f finalError) Unwrap() error { return f.err }

// backoff is exponential with full jitter; a rate limit waits at least Base*4
// because hammering a FREQUENCY_LIMITED endpoint only prolongs the limit.
func (p RetryPolicy) backoff(attempt int, kind errs.Kind) time.Duration {
	d := p.Base << (attempt - 1)
	if kind == errs.KindTooMany {
		d *= 4
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
