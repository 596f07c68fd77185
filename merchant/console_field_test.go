package merchant

import (
	"os"
	"testing"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/web"
)

// The field pages (visits, documents, contracts, targets, commission, reports) parse
// with the shell, and every message they use is in both catalogues.
func TestFieldPagesAreComplete(t *testing.T) {
	t.Parallel()
	var srcs [][]byte
	for _, f := range []string{"console_field.go", "console_sales.go", "console_reports.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	if err := web.CheckPages(New(domain.Deps{}, Ports{}, Config{}).fieldPages(), srcs...); err != nil {
		t.Fatal(err)
	}
}
