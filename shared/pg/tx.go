package pg

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Beginner is what InTx needs: a pool, or a connection.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// TxOptions picks the isolation level and the retry budget.
type TxOptions struct {
	Isolation pgx.TxIsoLevel // default read committed
	ReadOnly  bool
	// Attempts bounds the tries on serialization failures and deadlocks (default 5).
	Attempts int
}

// Serializable is the option set for transactions that must see a consistent world,
// such as a cap checked and then consumed.
var Serializable = TxOptions{Isolation: pgx.Serializable}

// InTx runs fn in a transaction and commits it. When PostgreSQL aborts the transaction
// with a serialization failure (40001) or a deadlock (40P01), the whole of fn runs again
// after a jittered exponential backoff: fn must therefore have no effects outside the
// transaction (no Redis, no HTTP) — such effects go through the outbox.
func InTx(ctx context.Context, db Beginner, opts TxOptions, fn func(tx pgx.Tx) error) error {
	attempts := opts.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	txo := pgx.TxOptions{IsoLevel: opts.Isolation}
	if opts.ReadOnly {
		txo.AccessMode = pgx.ReadOnly
	}
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, db, txo, fn)
		if err == nil || !IsRetryable(err) || attempt >= attempts {
			return err
		}
		sleep := backoff + time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %d attempts: %w)", ctx.Err(), attempt, err)
		case <-time.After(sleep):
		}
		backoff *= 2
	}
}

func runTx(ctx context.Context, db Beginner, txo pgx.TxOptions, fn func(tx pgx.Tx) error) (err error) {
	inner, err := db.BeginTx(ctx, txo)
	if err != nil {
		return Classify(err)
	}
	tx := &hookedTx{Tx: inner}
	if ex, ok := db.(Execer); ok {
		tx.db = ex
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return Classify(err)
	}
	for _, h := range tx.after {
		h.fn(context.WithoutCancel(ctx), tx.db)
	}
	return nil
}

// Execer runs a statement outside any transaction of the caller: a pool or a connection.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// hookedTx is InTx's transaction: pgx's, with what to run once it has committed.
type hookedTx struct {
	pgx.Tx
	db    Execer
	after []afterCommit
}

type afterCommit struct {
	key string
	fn  func(ctx context.Context, db Execer)
}

// AfterCommit has fn run on db once tx has committed, once per key however often it is
// asked for in the transaction, and never when the transaction rolls back or is run
// again. It is for what must follow the commit but need not be durable with it, such
// as a wake-up notification. It returns false, and does nothing, when tx is not InTx's
// (or InTx was given no Execer): the caller then does without.
func AfterCommit(tx pgx.Tx, key string, fn func(ctx context.Context, db Execer)) bool {
	h, ok := tx.(*hookedTx)
	if !ok || h.db == nil {
		return false
	}
	for _, a := range h.after {
		if a.key == key {
			return true
		}
	}
	h.after = append(h.after, afterCommit{key, fn})
	return true
}

// IsRetryable reports whether PostgreSQL asks for the transaction to be run again.
func IsRetryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == codeSerialization || pgErr.Code == codeDeadlock
	}
	return false
}
