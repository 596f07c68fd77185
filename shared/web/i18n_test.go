package web

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/shared/identity"
)

func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(localeFiles, "locales/"+lang+".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	return m
}

// Every key exists in both catalogues, with a text, and every key the templates and
// the code ask for exists.
func TestCataloguesAreComplete(t *testing.T) {
	zh, en := catalogue(t, "zh-CN"), catalogue(t, "en")
	for k, v := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("%s: in zh-CN, missing in en", k)
		}
		if v == "" {
			t.Errorf("%s: empty in zh-CN", k)
		}
	}
	for k, v := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("%s: in en, missing in zh-CN", k)
		}
		if v == "" {
			t.Errorf("%s: empty in en", k)
		}
	}
	used := map[string]bool{}
	literal := regexp.MustCompile(`\.T "([a-z_.]+)"|(?:Header|Label|Title): "([a-z_]+\.[a-z_.]+)"|v\.T\("([a-z_.]*[a-z_])"|"(nav\.[a-z_]+)"|show\([^)]*"([a-z_]+\.title)"`)
	files, _ := fs.Glob(templateFiles, "templates/*.html")
	var sources [][]byte
	for _, f := range files {
		b, _ := fs.ReadFile(templateFiles, f)
		sources = append(sources, b)
	}
	gofiles, _ := filepath.Glob("*.go")
	for _, f := range gofiles {
		if strings.HasSuffix(f, "_test.go") {
			continue // tests bring their own pages and catalogues
		}
		b, _ := os.ReadFile(f)
		sources = append(sources, b)
	}
	for _, src := range sources {
		for _, m := range literal.FindAllSubmatch(src, -1) {
			for _, g := range m[1:] {
				if len(g) > 0 {
					used[string(g)] = true
				}
			}
		}
	}
	for _, r := range identity.BuiltinRoles() {
		used["role."+r.Key] = true
	}
	for _, l := range identity.Levels() {
		used["scope."+string(l)] = true
	}
	for _, k := range []identity.OrgKind{identity.OrgRoot, identity.OrgRegion, identity.OrgCity, identity.OrgTeam} {
		used["org.kind_"+string(k)] = true
	}
	used["users.kind_staff"], used["users.kind_merchant"] = true, true
	var keys []string
	for k := range used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) < 60 {
		t.Fatalf("only %d keys found in use: the scan is broken", len(keys))
	}
	for _, k := range keys {
		if _, ok := zh[k]; !ok {
			t.Errorf("key %q is used but not in the catalogues", k)
		}
	}
	c, err := NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.T("en", "dashboard.welcome", map[string]any{"Name": "Ann"}); got != "Welcome, Ann" {
		t.Fatalf("template data: %q", got)
	}
	if got := c.T("fr", "nav.users", nil); got != "员工" {
		t.Fatalf("default language: %q", got)
	}
}
