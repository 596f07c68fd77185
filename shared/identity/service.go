package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Config tunes the service; zero fields take the defaults noted.
type Config struct {
	SessionTTL      time.Duration // a session's absolute life: 12 h
	SessionIdle     time.Duration // a session unused this long ends: 2 h
	TokenTTL        time.Duration // an API token's default life: 90 days (at most 1 year)
	TokenRate       int           // requests per minute per API token: 600
	LoginFailures   int           // failures in a row that lock an account: 5
	LockFor         time.Duration // how long a locked account stays locked: 15 min
	LoginPerAccount int           // failed sign-ins per account per LoginWindow (Redis): 10
	LoginPerIP      int           // failed sign-ins per client address per LoginWindow: 50
	LoginWindow     time.Duration // 15 min
	Argon2          Argon2Params  // DefaultArgon2
	// Code2Session exchanges a mini-program's wx.login code for the claims of the user
	// it names (WeChat's jscode2session: wxmini); nil turns consumer sign-in off.
	Code2Session        func(ctx context.Context, code string) (ConsumerClaims, error)
	ConsumerSessionTTL  time.Duration // a consumer's bearer token lives: 30 days
	ConsumerSignInPerIP int           // consumer sign-ins per client address per LoginWindow: 100
	RedisPrefix         string        // "tandem:identity:"
	Now                 func() time.Time
	Log                 *slog.Logger // for what cannot be returned (a failed cache invalidation); discarded when nil
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&c.SessionTTL, 12*time.Hour)
	def(&c.SessionIdle, 2*time.Hour)
	def(&c.TokenTTL, 90*24*time.Hour)
	def(&c.LockFor, 15*time.Minute)
	def(&c.LoginWindow, 15*time.Minute)
	def(&c.ConsumerSessionTTL, 30*24*time.Hour)
	defInt(&c.TokenRate, 600)
	defInt(&c.LoginFailures, 5)
	defInt(&c.LoginPerAccount, 10)
	defInt(&c.LoginPerIP, 50)
	defInt(&c.ConsumerSignInPerIP, 100)
	if c.Argon2.Memory == 0 {
		c.Argon2 = DefaultArgon2
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = "tandem:identity:"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service is the identity use cases.
type Service struct {
	db     *pgxpool.Pool
	limit  limiter
	log    *audit.Log
	cfg    Config
	tokens *tokenCache
	rates  *rateCounter // token requests a minute, counted here and flushed to Redis
	// listening: Run's change listener is connected (cached principals are trusted).
	listening atomic.Bool
}

// NewService returns the service on PostgreSQL (the identity and audit schemas) and
// Redis (rate limits).
func NewService(db *pgxpool.Pool, rdb redis.Scripter, cfg Config) *Service {
	cfg = cfg.withDefaults()
	return &Service{db: db, limit: limiter{rdb: rdb, prefix: cfg.RedisPrefix}, log: audit.NewLog(db), cfg: cfg, tokens: newTokenCache(), rates: newRateCounter()}
}

func (s *Service) logger() *slog.Logger {
	if s.cfg.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.cfg.Log
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Bootstrap creates what must exist: the root of the org tree and the built-in roles.
// It is idempotent and never overwrites an edited role.
func (s *Service) Bootstrap(ctx context.Context, rootName string) error {
	return s.changeTx(ctx, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", orgTreeLock); err != nil {
			return err
		}
		if _, err := q.RootOrgUnit(ctx); errors.Is(err, pgx.ErrNoRows) {
			id := newID()
			if err := q.InsertOrgUnit(ctx, identitydb.InsertOrgUnitParams{ID: id, Kind: "root", Name: rootName}); err != nil {
				return err
			}
			if err := q.InsertOrgClosure(ctx, identitydb.InsertOrgClosureParams{ID: id}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		for _, r := range BuiltinRoles() {
			id, err := q.InsertRoleIfMissing(ctx, identitydb.InsertRoleIfMissingParams{
				ID: newID(), Key: r.Key, Name: r.Name, Description: r.Description, Scope: string(r.Scope)})
			if errors.Is(err, pgx.ErrNoRows) {
				continue // exists
			}
			if err != nil {
				return err
			}
			for _, p := range r.Permissions {
				if err := q.AddRolePermission(ctx, identitydb.AddRolePermissionParams{RoleID: id, Permission: string(p)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// orgTreeLock serialises changes to the org tree's shape.
const orgTreeLock = 7_364_101

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// principal loads a user's principal: the user, their roles and permissions (the
// broadest scope per permission) and their org subtree.
func (s *Service) principal(ctx context.Context, q *identitydb.Queries, userID uuid.UUID) (*Principal, error) {
	u, err := q.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("identity: principal %s: %w", userID, pg.Classify(err))
	}
	p := &Principal{User: userOf(u), perms: map[Permission]Level{}}
	rows, err := q.UserRoles(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("identity: roles of %s: %w", userID, err)
	}
	for _, r := range rows {
		if len(p.Roles) == 0 || p.Roles[len(p.Roles)-1].Key != r.Key {
			p.Roles = append(p.Roles, RoleRef{Key: r.Key, Name: r.Name, Scope: Level(r.Scope)})
			p.User.Roles = append(p.User.Roles, r.Key)
		}
		if r.Permission != nil {
			perm := Permission(*r.Permission)
			p.perms[perm] = broader(p.perms[perm], Level(r.Scope))
		}
	}
	if u.OrgUnitID.Valid {
		if p.subtree, err = q.SubtreeIDs(ctx, u.OrgUnitID.UUID); err != nil {
			return nil, fmt.Errorf("identity: subtree of %s: %w", userID, err)
		}
	}
	return p, nil
}

// Principal loads a user's principal without credentials: for jobs acting for a user
// and for tests.
func (s *Service) Principal(ctx context.Context, userID uuid.UUID) (*Principal, error) {
	return s.principal(ctx, identitydb.New(s.db), userID)
}

func userOf(u identitydb.IdentityUser) User {
	return User{ID: u.ID, Login: u.Login, DisplayName: u.DisplayName, Kind: UserKind(u.Kind), OrgUnitID: u.OrgUnitID,
		MerchantID: u.MerchantID, Phone: u.Phone, Roles: []string{}, Disabled: u.DisabledAt != nil, LockedUntil: u.LockedUntil,
		LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt.UTC()}
}

// record writes an audit entry in tx for the principal (nil: the system).
func record(ctx context.Context, tx pgx.Tx, p *Principal, action, objType, objID string, before, after any) error {
	return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: action, ObjectType: objType, ObjectID: objID, Before: before, After: after})
}

// denied records a refused attempt in its own transaction (the attempt's own
// transaction rolls back) and returns the refusal. Use it where a refusal matters:
// privilege escalation, sign-in failures.
func (s *Service) denied(ctx context.Context, p *Principal, refusal *errs.Error, objType, objID string, detail any) error {
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		return record(ctx, tx, p, "denied."+refusal.Code, objType, objID, nil, detail)
	})
	if err != nil {
		return fmt.Errorf("%w (and auditing it failed: %v)", refusal, err)
	}
	return refusal
}

// notFound maps "no row" to the named not-found error; other errors are classified.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.NotFound(what)
	}
	return pg.Classify(err)
}
