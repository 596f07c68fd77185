package merchant

import (
	"os"
	"testing"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/web"
)

// The onboarding pages parse with the shell, and every message they use is in both catalogues.
func TestOnboardingPagesAreComplete(t *testing.T) {
	src, err := os.ReadFile("console_onb.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := web.CheckPages(New(domain.Deps{}, Ports{}, Config{}).onboardingPages(), src); err != nil {
		t.Fatal(err)
	}
}
