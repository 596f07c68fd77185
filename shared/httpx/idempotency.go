package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// IdempotencyHeader names the header a client sets on a POST it may retry.
const IdempotencyHeader = "Idempotency-Key"

// Idempotency stores the answer to a request sent with an Idempotency-Key and replays
// it for a retry with the same key and body (adding "Idempotent-Replayed: true").
// The same key with a different body is refused with 422; a retry that arrives while
// the first is still running gets 409 with Retry-After. Answers of 5xx are not kept,
// so a retry after a failure runs again. Keys are per caller and per path, and live
// for TTL.
//
// The stored answer is written after the handler's own transaction has committed; a
// process that dies in between leaves the key in flight until Lease ends, and the
// retry then runs the handler again. Handlers that move money therefore also carry
// their own business idempotency (out_trade_no, out_refund_no) — this middleware
// makes retries cheap and answers identical, the business key makes them safe.
type Idempotency struct {
	DB    *pgxpool.Pool
	TTL   time.Duration // default 24 h
	Lease time.Duration // default 1 min
	// Caller names who is asking (a user or token id); "anonymous" when nil or empty.
	Caller func(c *gin.Context) string
}

// Middleware returns the gin middleware; mount it on the routes that need it.
func (i *Idempotency) Middleware() gin.HandlerFunc {
	ttl, lease := i.TTL, i.Lease
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if lease <= 0 {
		lease = time.Minute
	}
	return func(c *gin.Context) {
		key := c.GetHeader(IdempotencyHeader)
		if key == "" {
			c.Next()
			return
		}
		if len(key) > 255 || !printableASCII(key) {
			Render(c, errs.Invalidf(IdempotencyHeader, "Idempotency-Key must be 1 to 255 printable ASCII characters"))
			return
		}
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			Render(c, err)
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		caller := "anonymous"
		if i.Caller != nil {
			if s := i.Caller(c); s != "" {
				caller = s
			}
		}
		scope := caller + " " + c.Request.Method + " " + c.Request.URL.Path
		sum := sha256.Sum256(append([]byte(c.Request.URL.RawQuery+"\n"), body...))
		ctx := c.Request.Context()

		owned, err := i.claim(ctx, scope, key, sum[:], ttl, lease)
		if err != nil {
			Render(c, errs.Wrap(err, errs.KindUnavailable, "idempotency.unavailable", "could not record the idempotency key; retry"))
			return
		}
		if !owned {
			i.replay(c, scope, key, sum[:])
			return
		}
		rec := &recorder{ResponseWriter: c.Writer}
		c.Writer = rec
		c.Next()
		// The request's context may be gone (client hung up); the answer must still be kept.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		status := rec.Status()
		q := platformdb.New(i.DB)
		if status >= 500 {
			err = q.DeleteIdempotencyKey(sctx, platformdb.DeleteIdempotencyKeyParams{Scope: scope, Key: key})
		} else {
			hdr, _ := json.Marshal(map[string]string{"Content-Type": rec.Header().Get("Content-Type")})
			err = q.StoreIdempotentAnswer(sctx, platformdb.StoreIdempotentAnswerParams{
				Scope: scope, Key: key, Status: pgtype.Int4{Int32: int32(status), Valid: true}, Headers: hdr, Body: rec.buf.Bytes()})
		}
		if err != nil {
			logger(c).ErrorContext(ctx, "idempotency: store answer", "err", err, "key", key)
		}
	}
}

// claim inserts the key as in flight, or takes over a key whose earlier request died
// (lease over, same body) or which is older than the TTL. It reports whether this
// request now owns the key.
func (i *Idempotency) claim(ctx context.Context, scope, key string, hash []byte, ttl, lease time.Duration) (bool, error) {
	owned, err := platformdb.New(i.DB).ClaimIdempotencyKey(ctx, platformdb.ClaimIdempotencyKeyParams{
		Scope: scope, Key: key, RequestHash: hash, LeaseMs: lease.Milliseconds(), TtlMs: ttl.Milliseconds()})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return owned, err
}

func (i *Idempotency) replay(c *gin.Context, scope, key string, hash []byte) {
	row, err := platformdb.New(i.DB).GetIdempotencyKey(c.Request.Context(), platformdb.GetIdempotencyKeyParams{Scope: scope, Key: key})
	if err != nil {
		Render(c, errs.Wrap(err, errs.KindUnavailable, "idempotency.unavailable", "could not read the idempotency key; retry"))
		return
	}
	if !bytes.Equal(row.RequestHash, hash) {
		Render(c, (&errs.Error{Kind: errs.KindUnprocessable, Code: "idempotency.key_reused",
			Message: "this Idempotency-Key was used with a different request body"}).WithField(IdempotencyHeader))
		return
	}
	if !row.Status.Valid {
		e := errs.E(errs.KindConflict, "idempotency.in_progress", "a request with this Idempotency-Key is still being processed")
		e.RetryAfter = 1
		Render(c, e)
		return
	}
	var h map[string]string
	_ = json.Unmarshal(row.Headers, &h)
	for k, v := range h {
		if v != "" {
			c.Header(k, v)
		}
	}
	c.Header("Idempotent-Replayed", "true")
	c.Status(int(row.Status.Int32))
	_, _ = c.Writer.Write(row.Body)
	c.Abort()
}

// recorder keeps a copy of what the handler writes.
type recorder struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.buf.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

var _ http.ResponseWriter = (*recorder)(nil)
