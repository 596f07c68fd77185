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
	"net/url"
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

// NavItem is one entry of the navigation, shown to those holding any of Perms (at
// Scope, when it is set).
type NavItem struct {
	ID    string // element id, "nav-users"
	Label string // catalogue key
	Href  string
	Perms []identity.Permission
	// Scope is the data scope a permission must reach for the page to answer, when the
	// page refuses narrower ones: the C-CRM's members belong to no org unit, so their
	// pages ask for consumer.member.read at scope all, and a team's holder, refused
	// there, is not offered them. Empty: any scope of the permission will do.
	Scope identity.Level
}

// baseNavigation is the shell's own menu: identity's pages. Domains add theirs with
// Register (Pages.Nav), after these, in the order cmd/tandem registers them.
func baseNavigation() []NavItem {
	return []NavItem{
		{ID: "nav-dashboard", Label: "nav.dashboard", Href: "/", Perms: []identity.Permission{identity.PermDashboardView}},
		{ID: "nav-users", Label: "nav.users", Href: "/users", Perms: []identity.Permission{identity.PermUserRead}},
		{ID: "nav-org", Label: "nav.org", Href: "/org", Perms: []identity.Permission{identity.PermOrgRead}},
		{ID: "nav-roles", Label: "nav.roles", Href: "/roles", Perms: []identity.Permission{identity.PermRoleRead}},
		{ID: "nav-tokens", Label: "nav.tokens", Href: "/tokens", Perms: []identity.Permission{identity.PermTokenCreate, identity.PermTokenManage}},
		{ID: "nav-audit", Label: "nav.audit", Href: "/audit", Perms: []identity.Permission{identity.PermAuditRead}},
	}
}

// queuesNav is the admins' queue dashboard, always last.
var queuesNav = NavItem{ID: "nav-queues", Label: "nav.queues", Href: "/admin/queues", Perms: []identity.Permission{identity.PermQueuesAdmin}}

// navFor is the navigation a principal sees: the entries of any permission they hold,
// at the entry's scope when it names one, so that nobody is offered a page that would
// refuse them.
func navFor(items []NavItem, p *identity.Principal, current string) []navLink {
	var out []navLink
	for _, it := range items {
		for _, perm := range it.Perms {
			if p.Can(perm) && (it.Scope == identity.LevelNone || p.Scope(perm).Level().Covers(it.Scope)) {
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

// View is what every page template gets, and what a console handler is given.
type View struct {
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
	// Form is what was typed into the form being shown again after an error.
	Form url.Values
	// Charts loads ECharts: set by pages that draw charts, so the others stay light.
	Charts bool
}

// T translates a catalogue key; pairs of arguments are template data.
func (v *View) T(key string, args ...any) string {
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
func (v *View) OtherLang() string {
	if v.Lang == "en" {
		return "zh-CN"
	}
	return "en"
}

// Time shows a time in Asia/Shanghai.
func (v *View) Time(t any) string {
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
// The shell's pages are named by their file ("users"); a domain's by its name and file
// ("recon/runs").
type templates struct {
	base  *template.Template
	pages map[string]*template.Template
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"args": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
		"repeat": strings.Repeat,
		"yuan":   Yuan,
		"asset":  assetPath,
	}
}

func parseTemplates() (*templates, error) {
	base, err := template.New("").Funcs(templateFuncs()).ParseFS(templateFiles, "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	ts := &templates{base: base, pages: map[string]*template.Template{}}
	sub, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, err
	}
	return ts, ts.add("", sub)
}

// add parses every page template (*.html not starting with _) at the root of fsys,
// each with the layout and components, under namespace.
func (ts *templates) add(namespace string, fsys fs.FS) error {
	pages, err := fs.Glob(fsys, "[a-z]*.html")
	if err != nil {
		return err
	}
	for _, p := range pages {
		t, err := template.Must(ts.base.Clone()).ParseFS(fsys, p)
		if err != nil {
			return fmt.Errorf("web: template %s/%s: %w", namespace, p, err)
		}
		name := strings.TrimSuffix(p, ".html")
		if namespace != "" {
			name = namespace + "/" + name
		}
		if _, dup := ts.pages[name]; dup {
			return fmt.Errorf("web: page %s registered twice", name)
		}
		ts.pages[name] = t
	}
	return nil
}

func (ts *templates) render(page string, v *View) ([]byte, error) {
	t, ok := ts.pages[page]
	if !ok {
		return nil, fmt.Errorf("web: no page %s", page)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		return nil, fmt.Errorf("web: render %s: %w", page, err)
	}
	return b.Bytes(), nil
}
