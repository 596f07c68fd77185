package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/devstack"
)

func localStack(cfg config.Config) (*devstack.Stack, error) {
	log, err := newLogger(cfg)
	if err != nil {
		return nil, err
	}
	return devstack.New(cfg.VarDir, cfg.PGPort, cfg.RedisPort, log)
}

func stackCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stack",
		Short: "Start, stop or locate the local PostgreSQL and Redis under TANDEM_VAR_DIR",
		Long: `The local stack is a PostgreSQL 15 and a Redis 7 run from the installed Debian binaries,
with their data under TANDEM_VAR_DIR (./var), on 127.0.0.1:TANDEM_PG_PORT and
127.0.0.1:TANDEM_REDIS_PORT. 'tandem dev' and the tests start it themselves.`,
	}
	run := func(use, short string, f func(cmd *cobra.Command, s *devstack.Stack) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			s, err := localStack(cfg)
			if err != nil {
				return err
			}
			return f(cmd, s)
		}}
	}
	cmd.AddCommand(
		run("up", "Start both servers (reusing running ones)", func(cmd *cobra.Command, s *devstack.Stack) error {
			if _, err := s.Start(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "PostgreSQL %s\nRedis      %s\n", s.DatabaseURL(), s.RedisURL())
			return nil
		}),
		run("down", "Stop both servers", func(cmd *cobra.Command, s *devstack.Stack) error {
			return s.Stop(cmd.Context(), nil)
		}),
		run("env", "Print TANDEM_DATABASE_URL and TANDEM_REDIS_URL for the local stack", func(cmd *cobra.Command, s *devstack.Stack) error {
			fmt.Fprintf(cmd.OutOrStdout(), "TANDEM_DATABASE_URL=%s\nTANDEM_REDIS_URL=%s\n", s.DatabaseURL(), s.RedisURL())
			return nil
		}),
	)
	return cmd
}
