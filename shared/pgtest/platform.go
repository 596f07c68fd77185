package pgtest

import (
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/platform"
)

func platformSet() pg.MigrationSet { return platform.Migrations }
