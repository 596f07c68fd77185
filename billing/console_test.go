package billing

import (
	"os"
	"testing"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/web"
)

// The pages parse with the shell, and every message they use is in both catalogues.
func TestConsolePagesAreComplete(t *testing.T) {
	src, err := os.ReadFile("console.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := web.CheckPages(New(domain.Deps{}, Ports{}, Config{}).pages(), src); err != nil {
		t.Fatal(err)
	}
}
