package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/domain"
)

// domainCmds are `tandem <domain> <command>`, one group per domain that registers
// commands (domain.Registry.Commands). The tree is made from the domains built over
// nothing (a constructor only keeps what it is given), so `tandem --help` lists them
// without a database; a command runs on the domains of the opened application, with
// the flags cobra parsed.
func domainCmds() []*cobra.Command {
	var groups []*cobra.Command
	names := map[*cobra.Command][]string{}
	for _, dc := range describedApp().registry().AllCommands() {
		i := slices.IndexFunc(groups, func(g *cobra.Command) bool { return g.Name() == dc.Domain })
		if i < 0 {
			groups = append(groups, &cobra.Command{Use: dc.Domain})
			i = len(groups) - 1
		}
		g := groups[i]
		names[g] = append(names[g], dc.Name)
		c := &cobra.Command{Use: dc.Name, Short: dc.Short, Long: dc.Long,
			RunE: func(cmd *cobra.Command, args []string) error { return runDomainCommand(cmd, dc.Domain, dc.Name, args) }}
		if dc.Flags != nil {
			dc.Flags(c.Flags())
		}
		g.AddCommand(c)
	}
	for _, g := range groups {
		g.Short = fmt.Sprintf("The %s domain's commands: %s", g.Name(), strings.Join(names[g], ", "))
	}
	return groups
}

// runDomainCommand opens the application (with payments, which build matching and
// billing) and runs the domain's command on it.
func runDomainCommand(cmd *cobra.Command, dom, name string, args []string) error {
	a, err := openWithPayments(cmd)
	if err != nil {
		return err
	}
	defer a.Close()
	dc, ok := a.registry().FindCommand(dom, name)
	if !ok {
		return fmt.Errorf("tandem %s %s: the %s domain did not register it in this process", dom, name, dom)
	}
	return dc.Run(cmd.Context(), domain.CommandInput{Args: args, Flags: cmd.Flags(), Out: cmd.OutOrStdout()})
}

// describedApp is every domain built over nothing, for what they declare.
func describedApp() *app {
	var deps domain.Deps
	return &app{approvals: approval.New(deps), merchant: merchant.New(deps, merchant.Ports{}, merchant.Config{}),
		consumer: consumer.New(deps, consumer.Ports{}, consumer.Config{}), marketing: marketing.New(deps, marketing.Ports{}, marketing.Config{}),
		matching: matching.New(deps, matching.Ports{}, matching.Config{}), billing: billing.New(deps, billing.Ports{}, billing.Config{}),
		recon: reconciliation.New(deps, reconciliation.Ports{}, reconciliation.Config{})}
}
