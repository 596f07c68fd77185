package domain_test

import (
	"context"
	"testing"

	"github.com/tandemcrm/tandem/shared/domain"
)

type fakeDomain struct {
	name string
	cmds []string
}

func (f fakeDomain) Name() string { return f.name }

func (f fakeDomain) Register(r *domain.Registry) {
	for _, c := range f.cmds {
		r.Commands(domain.Command{Name: c, Short: f.name + " " + c, Run: func(context.Context, domain.CommandInput) error { return nil }})
	}
}

// Each command is listed under the domain whose Register declared it, in order, and
// found by domain and name.
func TestCommandsAreListedUnderTheirDomain(t *testing.T) {
	t.Parallel()
	r := domain.Collect(fakeDomain{"shops", []string{"backfill", "rebuild"}}, fakeDomain{"none", nil}, fakeDomain{"pay", []string{"backfill"}})
	var got []string
	for _, c := range r.AllCommands() {
		got = append(got, c.Domain+" "+c.Name)
	}
	if want := []string{"shops backfill", "shops rebuild", "pay backfill"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("commands %q, want %q", got, want)
	}
	if c, ok := r.FindCommand("pay", "backfill"); !ok || c.Short != "pay backfill" {
		t.Fatalf("FindCommand(pay, backfill) = %+v, %v", c, ok)
	}
	if _, ok := r.FindCommand("none", "backfill"); ok {
		t.Fatal("found a command the domain did not register")
	}
}
