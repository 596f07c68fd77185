// Package web is the console: server-rendered html/template pages with htmx, Apache
// ECharts for charts, both vendored under assets/ and embedded (no build step), in
// Chinese (the default) and English. It holds the shell (layout, navigation by
// permission, the list component, the catalogues) and the identity pages: sign-in,
// dashboard, users, org tree, roles, API tokens and the audit log. Domains add their
// pages to the shell as they land.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"

	"github.com/tandemcrm/tandem/shared/identity"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// Assets are the static files served under /assets/.
func Assets() fs.FS {
	sub, err := fs.Sub(assetFiles, "assets")
	if err != nil {
		panic(err)
	}
	return sub
}

// NavItem is one entry of the navigation, shown to those holding any of Perms.
type NavItem struct {
	ID    string // element id, "nav-users"
	Label string // catalogue key
	Href  string
	Perms []identity.Permission
}

// Navigation is the console's menu; a domain appends its pages here.
func Navigation() []NavItem {
	return []NavItem{
		{"nav-dashboard", "nav.dashboard", "/", []identity.Permission{identity.PermDashboardView}},
		{"nav-users", "nav.users", "/users", []identity.Permission{identity.PermUserRead}},
		{"nav-org", "nav.org", "/org", []identity.Permission{identity.PermOrgRead}},
		{"nav-roles", "nav.roles", "/roles", []identity.Permission{identity.PermRoleRead}},
		{"nav-tokens", "nav.tokens", "/tokens", []identity.Permission{identity.PermTokenCreate, identity.PermTokenManage}},
		{"nav-audit", "nav.audit", "/audit", []identity.Permission{identity.PermAuditRead}},
		{"nav-recon", "nav.recon", "/recon", []identity.Permission{identity.PermReconRead}},
		{"nav-queues", "nav.queues", "/admin/queues", []identity.Permission{identity.PermQueuesAdmin}},
	}
}

// navFor is the navigation a principal sees.
func navFor(p *identity.Principal, current string) []navLink {
	var out []navLink
	for _, it := range Navigation() {
		for _, perm := range it.Perms {
			if p.Can(perm) {
				active := it.Href == current || (it.Href != "/" && strings.HasPrefix(current, it.Href+"/"))
				out = append(out, navLink{NavItem: it, Active: active})
				break
			}
		}
	}
	return out
}

type navLink struct {
	NavItem
	Active bool
}

// view is what every page template gets.
type view struct {
	cat   *Catalog
	Lang  string
	Title string // catalogue key
	Path  string
	Me    *identity.Principal
	Nav   []navLink
	CSRF  string
	Error string
	Flash string
	Page  any
}

// T translates a catalogue key; pairs of arguments are template data.
func (v *view) T(key string, args ...any) string {
	var data map[string]any
	if len(args) > 1 {
		data = map[string]any{}
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	return v.cat.T(v.Lang, key, data)
}

// OtherLang is the language the switch offers.
func (v *view) OtherLang() string {
	if v.Lang == "en" {
		return "zh-CN"
	}
	return "en"
}

// Time shows a time in Asia/Shanghai.
func (v *view) Time(t any) string {
	switch x := t.(type) {
	case time.Time:
		return x.In(shanghai).Format("2006-01-02 15:04")
	case *time.Time:
		if x != nil {
			return x.In(shanghai).Format("2006-01-02 15:04")
		}
	}
	return ""
}

var shanghai = time.FixedZone("CST", 8*3600)

// templates holds one template set per page: the layout and components plus the page.
type templates map[string]*template.Template

func parseTemplates() (templates, error) {
	funcs := template.FuncMap{
		"args": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
		"repeat": strings.Repeat,
	}
	base, err := template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	pages, err := fs.Glob(templateFiles, "templates/[a-z]*.html")
	if err != nil {
		return nil, err
	}
	out := templates{}
	for _, p := range pages {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, p)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", p, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")] = t
	}
	return out, nil
}

func (ts templates) render(page string, v *view) ([]byte, error) {
	t, ok := ts[page]
	if !ok {
		return nil, fmt.Errorf("web: no page %s", page)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		return nil, fmt.Errorf("web: render %s: %w", page, err)
	}
	return b.Bytes(), nil
}
