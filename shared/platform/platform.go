// Package platform owns the "platform" schema: the tables of the shared mechanisms
// (outbox, idempotency keys) that every domain uses.
package platform

import (
	"embed"
	"io/fs"

	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the platform schema's migration set; it comes first in every list.
var Migrations = pg.MigrationSet{Name: "platform", FS: mustSub(migrationFiles, "migrations")}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
