package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

// CheckPages checks a domain's pages before they reach a user: both catalogues have
// the same keys, none empty; every key its templates ask for (the T calls) is in the
// shell's or the domain's catalogue; every template parses with the shell's layout.
// Each domain's tests call it, so that a missing translation fails a test, not a page.
func CheckPages(p Pages, goSources ...[]byte) error {
	var problems []string
	cats := map[string]map[string]string{}
	for _, lang := range Languages() {
		m := map[string]string{}
		if p.Messages != nil {
			b, err := fs.ReadFile(p.Messages, lang+".json")
			if err != nil {
				return fmt.Errorf("%s: %w", lang, err)
			}
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("%s.json: %w", lang, err)
			}
		}
		cats[lang] = m
	}
	zh, en := cats["zh-CN"], cats["en"]
	for k, v := range zh {
		if _, ok := en[k]; !ok {
			problems = append(problems, k+": in zh-CN, missing in en")
		}
		if v == "" {
			problems = append(problems, k+": empty in zh-CN")
		}
	}
	for k, v := range en {
		if _, ok := zh[k]; !ok {
			problems = append(problems, k+": in en, missing in zh-CN")
		}
		if v == "" {
			problems = append(problems, k+": empty in en")
		}
	}
	shell, err := NewCatalog()
	if err != nil {
		return err
	}
	literal := regexp.MustCompile(`\.T "([a-z0-9_.]+)"|(?:Header|Label|Title): "([a-z0-9_]+\.[a-z0-9_.]+)"|v\.T\("([a-z0-9_.]*[a-z0-9_])"`)
	var sources [][]byte
	if p.Templates != nil {
		files, _ := fs.Glob(p.Templates, "*.html")
		for _, f := range files {
			b, _ := fs.ReadFile(p.Templates, f)
			sources = append(sources, b)
		}
		ts, err := parseTemplates()
		if err != nil {
			return err
		}
		if err := ts.add(p.Domain, p.Templates); err != nil {
			problems = append(problems, err.Error())
		}
	}
	sources = append(sources, goSources...)
	for _, src := range sources {
		for _, m := range literal.FindAllSubmatch(src, -1) {
			key := ""
			for _, g := range m[1:] {
				if len(g) > 0 {
					key = string(g)
				}
			}
			if key == "" || strings.HasSuffix(key, ".") || strings.HasSuffix(key, "_") {
				continue // a prefix completed at run time
			}
			if _, ok := zh[key]; !ok && !shell.Has("zh-CN", key) {
				problems = append(problems, key+": used, in no catalogue")
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("pages %s:\n  %s", p.Domain, strings.Join(problems, "\n  "))
	}
	return nil
}
