package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/shared/pg"
)

func migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the schema migrations embedded in this binary (safe to run concurrently)",
		Long: `Applies every schema's migrations in order (platform, identity, then the domains),
under a PostgreSQL advisory lock, so several processes may start at once. Each schema
keeps its version in platform.schema_version_<schema>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openFromCommand(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			if err := pg.Migrate(cmd.Context(), a.db, migrationSets()...); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return nil
		},
	}
}
