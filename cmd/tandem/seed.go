package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/matching/offline"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// demoLogin is one account the banner of `tandem dev` shows.
type demoLogin struct{ Role, Login, Password string }

// demoData is what seedDemo made: the logins for the banner, and the ids the
// payment demo of 'tandem dev' needs.
type demoData struct {
	logins     []demoLogin
	merchantID uuid.UUID
	consumerID uuid.UUID
}

// seedDemo loads the demo data through the domains' own services (never raw inserts,
// so the data obeys every rule a user's would). It is idempotent: each step checks
// what exists. Domains add their steps here as they land.
func (a *app) seedDemo(ctx context.Context) (demoData, error) {
	d, err := a.identity.SeedDemo(ctx, demoPassword)
	if err != nil {
		return demoData{}, fmt.Errorf("identity: %w", err)
	}
	out := make([]demoLogin, len(d.Logins))
	for i, l := range d.Logins {
		out[i] = demoLogin{Role: l.Role, Login: l.Login, Password: demoPassword}
	}
	as := func(login string) (*identity.Principal, error) { return a.identity.Principal(ctx, d.Users[login]) }
	var actors merchant.DemoActors
	for login, p := range map[string]**identity.Principal{"sh1.rep": &actors.Rep, "reviewer": &actors.Reviewer} {
		if *p, err = as(login); err != nil {
			return demoData{}, fmt.Errorf("demo actor %s: %w", login, err)
		}
	}
	actors.Signer = actors.Rep // the rep who works the shop signs its contract
	// The live demo shops become identity's demo merchants: shop.owner and shop.staff
	// see 南翔小笼, shop2.owner 小杨生煎.
	actors.Live = []merchant.DemoMerchant{{ID: d.Merchants["A"], OwnerLogin: "shop.owner"}, {ID: d.Merchants["B"], OwnerLogin: "shop2.owner"}}
	md, err := merchant.Demo(ctx, a.merchant, actors)
	if err != nil {
		return demoData{}, fmt.Errorf("merchant: %w", err)
	}
	cid, err := consumer.Demo(ctx, a.consumer, a.cfg.WxpayAppID)
	if err != nil {
		return demoData{}, fmt.Errorf("consumer: %w", err)
	}
	growth, err := as("growth")
	if err != nil {
		return demoData{}, fmt.Errorf("demo actor growth: %w", err)
	}
	referrer, invitees, err := consumer.DemoInvites(ctx, a.consumer, a.cfg.WxpayAppID)
	if err != nil {
		return demoData{}, fmt.Errorf("consumer invitees: %w", err)
	}
	if err := marketing.Demo(ctx, a.marketing, growth, referrer, invitees); err != nil {
		return demoData{}, fmt.Errorf("marketing: %w", err)
	}
	// Matching's demo record: a neighbourhood of synthetic purchases (the demo has one real
	// order), its recommendations, audiences and merges.
	msvc := matching.New(a.deps(), matching.Ports{Members: a.consumer}, matching.Config{})
	if _, err := offline.Demo(ctx, msvc, cid, a.clock.Now()); err != nil {
		return demoData{}, fmt.Errorf("matching: %w", err)
	}
	if err := offline.DemoShops(ctx, msvc, consumer.DemoPhone, a.clock.Now()); err != nil {
		return demoData{}, fmt.Errorf("matching shops: %w", err)
	}
	return demoData{logins: out, merchantID: md.MerchantID, consumerID: cid}, nil
}

// demoPassword is every demo account's password (printed by 'tandem dev').
const demoPassword = "Tandem-demo-2025"

// scaleGenerator writes n synthetic rows of one kind with COPY, for benchmarks.
type scaleGenerator struct {
	name string
	help string
	run  func(ctx context.Context, a *app, n int) error
}

func scaleGenerators() []scaleGenerator {
	return []scaleGenerator{
		{name: "outbox", help: "unsent outbox events (for the relay benchmark)", run: seedOutbox},
		{name: "members", help: "marketing's members with orders, tags, tiers, categories and coupons (segments, campaigns)", run: seedMembers},
	}
}

func seedCmd() *cobra.Command {
	var scale int
	var only []string
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Load the demo data, or with --scale N large synthetic data for benchmarks",
		Long: `Without --scale: migrates and loads the demo data (the same 'tandem dev' loads), through
the same services a user's requests go through; running it again changes nothing.

With --scale N: writes N synthetic rows per generator with COPY, for benchmarks.
Generators: outbox, members.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openFromCommand(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			ctx := cmd.Context()
			if err := pg.Migrate(ctx, a.db, migrationSets()...); err != nil {
				return err
			}
			if scale <= 0 {
				d, err := a.seedDemo(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "demo data loaded (%d logins; the paid demo orders come with 'tandem dev')\n", len(d.logins))
				return nil
			}
			for _, g := range scaleGenerators() {
				if len(only) > 0 && !contains(only, g.name) {
					continue
				}
				start := time.Now()
				if err := g.run(ctx, a, scale); err != nil {
					return fmt.Errorf("seed %s: %w", g.name, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-10s %d rows in %s\n", g.name, scale, time.Since(start).Round(time.Millisecond))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&scale, "scale", 0, "write this many synthetic rows per generator (0: demo data)")
	cmd.Flags().StringSliceVar(&only, "only", nil, "with --scale: only these generators")
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func seedOutbox(ctx context.Context, a *app, n int) error {
	now := time.Now()
	rows := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		id, err := uuid.NewV7()
		return []any{id, "bench.seeded", fmt.Sprintf("agg-%d", i%1000), []byte(fmt.Sprintf(`{"i":%d}`, i)), now}, err
	})
	_, err := a.db.CopyFrom(ctx, pgx.Identifier{"platform", "outbox"},
		[]string{"id", "topic", "aggregate_key", "payload", "created_at"}, rows)
	return err
}

func seedMembers(ctx context.Context, a *app, n int) error {
	if _, err := a.marketing.SeedMembers(ctx, n, uint64(time.Now().UnixNano())); err != nil {
		return err
	}
	// Seeded rows bypass the change log: rebuild, and snapshot so that processes start from it.
	if _, err := a.marketing.Rebuild(ctx); err != nil {
		return err
	}
	_, err := a.marketing.Snapshot(ctx)
	return err
}
