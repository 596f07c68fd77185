// Command tandem is the one binary: API and console (serve), background work (worker),
// schema migrations (migrate), demo and benchmark data (seed), and everything at once
// on a local PostgreSQL and Redis (dev). It is the only package that knows every domain.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

func main() {
	// go-redis logs dial failures through its own logger; we report them once, ourselves.
	redis.SetLogger(quietRedisLogger{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := rootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		// A command that ran but has a verdict (tandem reconcile: unbalanced) says
		// which, for scripts.
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "tandem",
		Short: "Tandem: a CRM for two-sided marketplaces (B-CRM, C-CRM, billing, reconciliation)",
		Long: `Tandem is one binary. Every setting is a TANDEM_* environment variable or the
flag of the same name (the flag wins); run 'tandem <command> --help' to see them.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	config.Bind(root.PersistentFlags())
	root.AddCommand(serveCmd(), workerCmd(), migrateCmd(), seedCmd(), devCmd(), stackCmd(), configCmd(), benchCmd(),
		wxsim.Command(slog.New(slog.NewTextHandler(os.Stderr, nil))),
		reconcileCmd(), settleCmd(), outboxCmd(), faultsCmd())
	root.AddCommand(domainCmds()...)
	return root
}

// loadConfig reads the settings of the command being run.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	return config.Load(cmd.Flags())
}

func configCmd() *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (secrets masked), or --markdown the table of settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if markdown {
				fmt.Fprint(cmd.OutOrStdout(), settingsTable())
				return nil
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), cfg.String())
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print every setting as a Markdown table (the README's)")
	return cmd
}

// settingsTable is the README's configuration table, made from the settings themselves.
func settingsTable() string {
	var b strings.Builder
	b.WriteString("| variable | flag | default | what it sets |\n|---|---|---|---|\n")
	for _, f := range config.Fields() {
		fmt.Fprintf(&b, "| `%s` | `--%s` | `%s` | %s |\n", f.Env, f.Flag, f.Default, f.Help)
	}
	return b.String()
}

type quietRedisLogger struct{}

func (quietRedisLogger) Printf(context.Context, string, ...any) {}
