// Package platform owns the "platform" schema: the tables of the shared mechanisms
// (outbox, idempotency keys) that every domain uses.
package platform

import (
	"embed"

	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the platform schema's migration set; it comes first in every list.
var Migrations = pg.EmbeddedMigrations("platform", migrationFiles, "migrations")
