package merchant

import (
	"errors"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

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

// leadCatalogue is the lead pages' catalogues, as the console and the API word by.
func leadCatalogue(t *testing.T) *web.Catalog {
	t.Helper()
	cat, err := web.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Load(New(domain.Deps{}, Ports{}, Config{}).leadPages().Messages); err != nil {
		t.Fatal(err)
	}
	return cat
}

// checkReasonsTranslated checks that every code's "<prefix><code>" is in both
// catalogues and says each parameter its English names ({name}) given params.
func checkReasonsTranslated(t *testing.T, prefix string, english map[string]string, params map[string]any) {
	t.Helper()
	cat := leadCatalogue(t)
	for code, en := range english {
		names := regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(en, -1)
		for _, lang := range web.Languages() {
			key := prefix + code
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

// Every reason the system writes into the histories reads in both languages, its
// parameters filled in: a new code without a translation fails here, not on a page.
func TestTimelineReasonsReadInBothLanguages(t *testing.T) {
	english := map[string]string{}
	for _, code := range ReasonCodes() {
		english[string(code)] = reasonEnglish[code]
	}
	checkReasonsTranslated(t, "leads.tl_reason_", english,
		map[string]any{"pool": "POOL", "rule": "RULE", "day": "2026-12-07", "contract_no": "CNO", "approver": "APPROVER", "To": "TO"})
}

// Every reason an import refuses a row for reads in both languages, its parameters
// filled in, and so does every column it names: a new reason or column without a
// translation fails here, not in a report.
func TestImportReasonsReadInBothLanguages(t *testing.T) {
	english := map[string]string{}
	for _, code := range ImportReasonCodes() {
		english[string(code)] = importEnglish[code]
	}
	checkReasonsTranslated(t, "leads.import_reason_", english, map[string]any{"column": "COLUMN", "min": "-90", "max": "90",
		"char": "'I'", "row": "12", "by": "phone", "held_by": "HELD_BY", "team": "TEAM", "pool": "POOL"})
	columns := map[string]string{}
	for field := range importFields {
		columns[field] = field
	}
	checkReasonsTranslated(t, "leads.import_col_", columns, nil)
}

// An import's report reads in the API caller's language when they send
// Accept-Language, its codes, parameters and columns unchanged; without the header it
// is the English it always was.
func TestImportReportInTheCallersLanguage(t *testing.T) {
	h := api{leadWords: leadCatalogue(t)}
	report := []ImportProblem{importProblem(4, "phone", ImportSamePhoneAs, "row", "2"), importProblem(5, "lat", ImportOutOfRange, "column", "lat", "min", "-90", "max", "90"),
		{Row: 6, Column: "phone", Reason: "held by someone"}} // a report from before the codes
	for lang, want := range map[string][]string{
		"zh-CN,zh;q=0.9": {"与第 2 行电话相同", "「纬度」须在 -90 到 90 之间", "held by someone"},
		"en-GB":          {"the same phone as row 2", "lat must be between -90 and 90", "held by someone"},
		"":               {"the same phone as row 2", "lat must be between -90 and 90", "held by someone"},
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/", nil)
		c.Request.Header.Set("Accept-Language", lang)
		got := h.problemsIn(c, report)
		for i, p := range got {
			if p.Reason != want[i] || p.Code != report[i].Code || p.Column != report[i].Column || p.Row != report[i].Row {
				t.Errorf("%q: %+v, want the reason %q", lang, p, want[i])
			}
		}
	}
}
