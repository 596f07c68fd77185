package merchant

import (
	"errors"
	"os"
	"regexp"
	"strings"
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

// A duplicate's refusal reads wholly in the reader's language: the holder, their team
// or the pool are put into the catalogue's sentence, never an English phrase built by
// the service.
func TestDuplicateRefusalReadsInTheReadersLanguage(t *testing.T) {
	cat, err := web.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Load(New(domain.Deps{}, Ports{}, Config{}).leadPages().Messages); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d      Duplicate
		zh, en string
	}{
		{Duplicate{Reason: DupPhone, HeldBy: "张销售", Team: "上海一组"}, "这家店已存在：由上海一组的张销售跟进。", "This shop already exists: held by 张销售 of 上海一组."},
		{Duplicate{Reason: DupNearby, Pool: "上海公海"}, "这家店已存在：在公海「上海公海」。", "This shop already exists: in the pool 上海公海."},
		{Duplicate{Reason: DupPhone}, "这家店已存在：已有人跟进。", "This shop already exists: held by someone else."},
	} {
		var r *Refusal
		if !errors.As(duplicateError(c.d), &r) {
			t.Fatalf("%+v: not a refusal", c.d)
		}
		for lang, want := range map[string]string{"zh-CN": c.zh, "en": c.en} {
			if got := cat.T(lang, "refusal."+r.Err.Code, r.Params); got != want {
				t.Errorf("%s %+v: %q, want %q", lang, c.d, got, want)
			}
		}
	}
}

// Every reason the system writes into the histories reads in both languages, its
// parameters filled in: a new code without a translation fails here, not on a page.
func TestTimelineReasonsReadInBothLanguages(t *testing.T) {
	cat, err := web.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Load(New(domain.Deps{}, Ports{}, Config{}).leadPages().Messages); err != nil {
		t.Fatal(err)
	}
	params := map[string]any{"pool": "POOL", "rule": "RULE", "day": "2026-12-07", "contract_no": "CNO", "approver": "APPROVER", "To": "TO"}
	for _, code := range ReasonCodes() {
		names := regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(reasonEnglish[code], -1)
		for _, lang := range web.Languages() {
			key := "leads.tl_reason_" + string(code)
			if !cat.Has(lang, key) {
				t.Errorf("%s: %s missing", lang, key)
				continue
			}
			got := cat.T(lang, key, params)
			for _, n := range names {
				if !strings.Contains(got, params[n[1]].(string)) {
					t.Errorf("%s %s: %q leaves out its %s", lang, key, got, n[1])
				}
			}
		}
	}
}
