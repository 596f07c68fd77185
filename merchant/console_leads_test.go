package merchant

import (
	"os"
	"testing"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/web"
)

// The lead and pool pages parse with the shell, and every message they use is in both catalogues.
func TestLeadConsolePagesAreComplete(t *testing.T) {
	src, err := os.ReadFile("console_leads.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := web.CheckPages(New(domain.Deps{}, Ports{}, Config{}).leadPages(), src); err != nil {
		t.Fatal(err)
	}
}
