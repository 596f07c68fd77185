// Package domain is the one front door every domain of Tandem has.
//
// A domain package (merchant, consumer, matching, billing, reconciliation) has:
//
//   - a package-level `Migrations` set (pg.EmbeddedMigrations over its own schema);
//   - one constructor, `New(deps domain.Deps, ports Ports, cfg Config) *Service`: Deps is
//     what the platform gives every domain, Ports are the published read interfaces of
//     the other domains it needs (adapters live in cmd/tandem), Config its own rules;
//   - `(*Service).Register(r *domain.Registry)`, where it declares its API routes, console
//     pages, event subscriptions and scheduled tasks;
//   - every public method of Service takes the caller explicitly (a *identity.Principal,
//     or a consumer id for the mini-program's routes) and checks permission and scope
//     itself;
//   - CLI commands, where it has any, registered like the rest (Registry.Commands): cmd/tandem
//     makes `tandem <domain> <command>` of each.
//
// cmd/tandem is the one place that builds the domains and applies their registrations.
package domain

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/web"
)

// Deps is what the platform gives every domain.
type Deps struct {
	DB    *pgxpool.Pool
	Redis *redis.Client // nil where a process has none (some commands and tests)
	Log   *slog.Logger
	Clock clock.Clock
	// Relays wakes the outbox relays after a commit that wrote events without
	// waking them in its own transaction: one for the process, so that the commits of
	// every domain within its window share one notification.
	Relays *outbox.Waker
}

// WithDefaults fills a missing logger, clock and relay waker (a waker of its own,
// where the caller gave none).
func (d Deps) WithDefaults() Deps {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Relays == nil && d.DB != nil {
		d.Relays = outbox.NewWaker(d.DB)
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	return d
}

// Now is the deps' clock, in UTC.
func (d Deps) Now() time.Time { return d.Clock.Now().UTC() }

// Domain is what every domain's Service implements.
type Domain interface {
	// Name is the domain's name and the prefix of its task types: "billing".
	Name() string
	Register(r *Registry)
}

// Routers are where a domain mounts its API routes, all under /api/v1.
type Routers struct {
	// Staff requires a signed-in staff member (a session, whose CSRF token is checked,
	// or a bearer token). Handlers take the caller with identity.Handle.
	Staff gin.IRouter
	// Consumer requires a signed-in consumer (the mini-program's tdc_ token); handlers
	// take the consumer with identity.HandleConsumer.
	Consumer gin.IRouter
	// Public requires nothing: a route there checks its own credentials (WeChat's
	// signature on a notification, a consumer's sign-in code).
	Public gin.IRouter
	// Idempotent replays a POST's answer for a repeated Idempotency-Key; put it in
	// front of every POST that moves money or points.
	Idempotent gin.HandlerFunc
}

// Task is a background task a domain runs: on a schedule when Cron is set, or when
// enqueued by the domain itself.
type Task struct {
	Type string // asynq task type, "<domain>:<name>"
	// Cron is the schedule (robfig cron syntax, Asia/Shanghai); "" for a task that is
	// only enqueued, never scheduled.
	Cron string
	// Unique keeps a period's task from being enqueued twice (two schedulers for a
	// moment, during a rolling update). Defaults to the period of an @every schedule,
	// or an hour.
	Unique time.Duration
	Queue  string // "critical", "default" or "low"; default "default"
	Help   string // one line for `tandem worker --help`
	Handle func(ctx context.Context, payload []byte) error
}

// Command is a command a domain offers on the command line, run as
// `tandem <domain> <name>`. cmd/tandem makes the command tree of the registry, so
// `tandem --help` lists every domain's commands without a database; a command runs on
// the domains cmd/tandem builds over the open database and Redis.
type Command struct {
	Name  string // "backfill-shops"
	Short string // one line for the help
	Long  string
	// Flags declares the command's flags (nil: none); Run reads them back from the
	// parsed set in CommandInput.Flags.
	Flags func(fs *pflag.FlagSet)
	Run   func(ctx context.Context, in CommandInput) error
}

// CommandInput is what a command runs with.
type CommandInput struct {
	Args  []string
	Flags *pflag.FlagSet // parsed: the set Command.Flags declared on
	Out   io.Writer      // the command's standard output
}

// DomainCommand is a command with the name of the domain that registered it.
type DomainCommand struct {
	Domain string
	Command
}

// Registry collects what the domains declare. cmd/tandem applies it.
type Registry struct {
	routes   []func(Routers)
	pages    []web.Pages
	subs     []outbox.Subscription
	tasks    []Task
	commands []DomainCommand
	// registering is the name of the domain whose Register runs (Collect sets it).
	registering string
}

// Routes adds a function that mounts API routes.
func (r *Registry) Routes(mount func(Routers)) { r.routes = append(r.routes, mount) }

// Pages adds console pages.
func (r *Registry) Pages(p web.Pages) { r.pages = append(r.pages, p) }

// Subscribe adds event subscriptions.
func (r *Registry) Subscribe(subs ...outbox.Subscription) { r.subs = append(r.subs, subs...) }

// Schedule adds background tasks.
func (r *Registry) Schedule(tasks ...Task) { r.tasks = append(r.tasks, tasks...) }

// Commands adds command-line commands of the domain being registered.
func (r *Registry) Commands(cmds ...Command) {
	for _, c := range cmds {
		r.commands = append(r.commands, DomainCommand{Domain: r.registering, Command: c})
	}
}

// Collect asks each domain for its registrations, in order.
func Collect(ds ...Domain) *Registry {
	r := &Registry{}
	for _, d := range ds {
		r.registering = d.Name()
		d.Register(r)
	}
	r.registering = ""
	return r
}

// MountRoutes mounts every domain's API routes. A nil Idempotent (tests) passes
// requests through.
func (r *Registry) MountRoutes(rt Routers) {
	if rt.Idempotent == nil {
		rt.Idempotent = func(c *gin.Context) { c.Next() }
	}
	for _, m := range r.routes {
		m(rt)
	}
}

// AllPages is every domain's console pages.
func (r *Registry) AllPages() []web.Pages { return slices.Clone(r.pages) }

// Subscriptions is every domain's event subscriptions.
func (r *Registry) Subscriptions() []outbox.Subscription { return slices.Clone(r.subs) }

// Tasks is every domain's background tasks.
func (r *Registry) Tasks() []Task { return slices.Clone(r.tasks) }

// AllCommands is every domain's command-line commands, in the order registered.
func (r *Registry) AllCommands() []DomainCommand { return slices.Clone(r.commands) }

// FindCommand is the command name of domain, if registered.
func (r *Registry) FindCommand(domain, name string) (DomainCommand, bool) {
	for _, c := range r.commands {
		if c.Domain == domain && c.Name == name {
			return c, true
		}
	}
	return DomainCommand{}, false
}
