package merchant

import (
	"os"
	"testing"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/web"
)

// The lead and pool pages parse with the shell, and every message they use is in both catalogues.
func TestLeadConsolePagesAreComplete(t *testing.T) {
	var src []byte
	for _, f := range []string{"console_leads.go", "console_timeline.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	if err := web.CheckPages(New(domain.Deps{}, Ports{}, Config{}).leadPages(), src); err != nil {
		t.Fatal(err)
	}
}
