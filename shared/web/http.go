package web

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

const (
	langCookie      = "tandem_lang"
	loginCSRFCookie = "tandem_login_csrf"
)

// Console serves the console's pages.
type Console struct {
	svc  *identity.Service
	auth *identity.HTTP
	cat  *Catalog
	tpl  *templates
	log  *slog.Logger
	// nav is the menu: the shell's entries, then each registered domain's.
	nav []NavItem
	// domains are the registered domains' pages, mounted by Mount.
	domains []Pages
}

// New parses the templates and catalogues.
func New(svc *identity.Service, auth *identity.HTTP, log *slog.Logger) (*Console, error) {
	cat, err := NewCatalog()
	if err != nil {
		return nil, err
	}
	tpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Console{svc: svc, auth: auth, cat: cat, tpl: tpl, log: log, nav: baseNavigation()}, nil
}

// Mount adds the console's routes; the engine already runs identity's Authenticate.
func (w *Console) Mount(e gin.IRouter) {
	e.GET("/assets/*path", serveAsset)
	e.GET("/login", w.handle(w.getLogin))
	e.POST("/login", w.handle(w.postLogin))
	e.GET("/invite/:token", w.handle(w.getInvite))
	e.POST("/invite/:token", w.handle(w.postInvite))
	e.GET("/lang/:lang", w.setLang)
	g := e.Group("", w.requireLogin)
	g.POST("/logout", w.handle(w.postLogout))
	g.GET("/", w.handle(w.dashboard))
	g.GET("/users", w.handle(w.users))
	g.POST("/users", w.handle(w.createUser))
	g.GET("/users/:id", w.handle(w.user))
	g.POST("/users/:id/roles", w.handle(w.setRoles))
	g.POST("/users/:id/status", w.handle(w.setStatus))
	g.GET("/org", w.handle(w.org))
	g.POST("/org", w.handle(w.createUnit))
	g.POST("/org/move", w.handle(w.moveUnit))
	g.GET("/roles", w.handle(w.roles))
	g.POST("/roles", w.handle(w.createRole))
	g.GET("/roles/:id", w.handle(w.roles))
	g.POST("/roles/:id", w.handle(w.updateRole))
	g.GET("/tokens", w.handle(w.tokens))
	g.POST("/tokens", w.handle(w.createToken))
	g.POST("/tokens/:id/revoke", w.handle(w.revokeToken))
	g.GET("/audit", w.handle(w.audit))
	for _, p := range w.domains {
		p.Mount(g, w)
	}
}

// requireLogin sends anonymous visitors to the sign-in page and checks the CSRF token
// of every form a session posts.
func (w *Console) requireLogin(c *gin.Context) {
	if identity.FromContext(c.Request.Context()) == nil {
		q := url.Values{"next": {c.Request.URL.RequestURI()}}
		if errs.Is(identity.AuthError(c.Request.Context()), identity.ErrSessionExpired.Code) {
			q.Set("expired", "1")
		}
		c.Redirect(http.StatusSeeOther, "/login?"+q.Encode())
		c.Abort()
		return
	}
	if err := w.auth.CheckCSRF(c); err != nil {
		w.fail(c, err)
		c.Abort()
		return
	}
	c.Next()
}

// handle adapts a page handler: a returned error is shown as the error page.
func (w *Console) handle(h func(c *gin.Context, v *View) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c, w.view(c)); err != nil {
			w.fail(c, err)
		}
	}
}

func (w *Console) view(c *gin.Context) *View {
	lang, _ := c.Cookie(langCookie)
	v := &View{cat: w.cat, Lang: w.cat.Lang(lang), Path: c.Request.URL.RequestURI(), Me: identity.FromContext(c.Request.Context())}
	if v.Me != nil {
		v.Nav = navFor(append(w.nav[:len(w.nav):len(w.nav)], queuesNav), v.Me, c.Request.URL.Path) // a copy: requests build their menus at once
		v.CSRF = v.Me.CSRFToken
	}
	if key, err := c.Cookie(flashCookie); err == nil && key != "" && w.cat.Has(v.Lang, key) {
		v.Flash = v.T(key)
		http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1})
	}
	return v
}

// message is an error as a person reads it, in their language: the code's own
// message when the catalogues have one ("error.<code>", or its reason's), a template
// of the error's Params, Message and Field, else the English message for
// an English reader, else a sentence for the error's kind naming the field, so that a
// Chinese page never shows English.
func (v *View) message(err error) string {
	e := errs.As(err)
	if e == nil || e.Kind == errs.KindInternal {
		return v.T("error.internal")
	}
	if key, ok := v.errorKey(e); ok {
		data := make([]any, 0, 4+2*len(e.Params))
		for k, p := range e.Params {
			data = append(data, k, p)
		}
		return v.T(key, append(data, "Message", e.Message, "Field", v.fieldLabel(e.Field))...)
	}
	if v.Lang == "en" && e.Message != "" {
		return e.Message
	}
	if e.Field != "" && (e.Kind == errs.KindInvalid || e.Kind == errs.KindUnprocessable) {
		return v.T("error.kind.invalid_field", "Field", v.fieldLabel(e.Field))
	}
	return v.T("error.kind." + e.Kind.String())
}

// errorKey is the catalogue's key for e: "error.<code>.<reason>" when the catalogues
// word the rule broken, else "error.<code>"; false when they have neither.
func (v *View) errorKey(e *errs.Error) (string, bool) {
	if e.Reason != "" {
		if key := "error." + e.Code + "." + e.Reason; v.cat.Has(v.Lang, key) {
			return key, true
		}
	}
	key := "error." + e.Code
	return key, v.cat.Has(v.Lang, key)
}

// fieldLabel is a field's name as the reader knows it: "field.<name>" in the
// catalogues, or the name itself. A field of a list's item, "tiers[2].threshold", is
// "field.tiers[].threshold" with the item's index as I (and I+1 as N).
func (v *View) fieldLabel(name string) string {
	if key := "field." + name; v.cat.Has(v.Lang, key) {
		return v.T(key)
	}
	if open, rest, ok := strings.Cut(name, "["); ok {
		if idx, sub, ok := strings.Cut(rest, "]"); ok {
			if i, err := strconv.Atoi(idx); err == nil {
				if key := "field." + open + "[]" + sub; v.cat.Has(v.Lang, key) {
					return v.T(key, "I", i, "N", i+1)
				}
			}
		}
	}
	return name
}

func (w *Console) fail(c *gin.Context, err error) {
	v := w.view(c)
	status := errs.KindOf(err).HTTPStatus()
	if status >= 500 {
		w.log.ErrorContext(c.Request.Context(), "console page failed", "path", c.Request.URL.Path, "err", err)
	}
	v.Error, v.Title = v.message(err), "error.title"
	w.render(c, status, "error", v)
}

func (w *Console) render(c *gin.Context, status int, page string, v *View) {
	b, err := w.tpl.render(page, v)
	if err != nil {
		w.log.ErrorContext(c.Request.Context(), "console render", "err", err)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Frame-Options", "DENY")
	c.Data(status, "text/html; charset=utf-8", b)
}

// rerender shows a page again with a form's error; status is the error's.
func (w *Console) rerender(c *gin.Context, v *View, err error, page func(*gin.Context, *View) error) error {
	if k := errs.KindOf(err); k == errs.KindInternal || k == errs.KindUnavailable || k == errs.KindTimeout {
		return err
	}
	v.Error = v.message(err)
	c.Status(errs.KindOf(err).HTTPStatus())
	return page(c, v)
}

func (w *Console) show(c *gin.Context, v *View, page, title string, data any) error {
	v.Title, v.Page = title, data
	w.render(c, c.Writer.Status(), page, v)
	return nil
}

func (w *Console) setLang(c *gin.Context) {
	lang := w.cat.Lang(c.Param("lang"))
	http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
	c.Redirect(http.StatusSeeOther, localPath(c.Query("back")))
}

// localPath keeps redirects on this site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// Sign-in. The form carries a double-submit token (cookie and field), since there is
// no session yet to hold one.

type loginPage struct{ CSRF, Next, Login string }

func (w *Console) getLogin(c *gin.Context, v *View) error {
	if v.Me != nil {
		c.Redirect(http.StatusSeeOther, "/")
		return nil
	}
	switch {
	case c.Query("expired") != "":
		v.Error = v.T("login.expired")
	case c.Query("signed_out") != "":
		v.Flash = v.T("login.signed_out")
	case c.Query("invited") != "":
		v.Flash = v.T("login.invited")
	}
	return w.loginForm(c, v, c.Query("login"))
}

func (w *Console) loginForm(c *gin.Context, v *View, login string) error {
	token := uuid.NewString()
	http.SetCookie(c.Writer, &http.Cookie{Name: loginCSRFCookie, Value: token, Path: "/login", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return w.show(c, v, "login", "login.title", loginPage{CSRF: token, Next: localPath(c.Query("next")), Login: login})
}

func (w *Console) postLogin(c *gin.Context, v *View) error {
	cookie, _ := c.Cookie(loginCSRFCookie)
	if cookie == "" || subtle.ConstantTimeCompare([]byte(cookie), []byte(c.PostForm("csrf_token"))) != 1 {
		v.Error = v.message(identity.ErrCSRF)
		c.Status(http.StatusForbidden)
		return w.loginForm(c, v, c.PostForm("login"))
	}
	if _, err := w.auth.Login(c, c.PostForm("login"), c.PostForm("password")); err != nil {
		if k := errs.KindOf(err); k == errs.KindInternal || k == errs.KindUnavailable {
			return err
		}
		v.Error = v.message(err)
		c.Status(errs.KindOf(err).HTTPStatus())
		return w.loginForm(c, v, c.PostForm("login"))
	}
	c.Redirect(http.StatusSeeOther, localPath(c.PostForm("next")))
	return nil
}

func (w *Console) postLogout(c *gin.Context, v *View) error {
	if err := w.auth.EndSession(c, v.Me); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
	return nil
}

// Dashboard.

type dashboardPage struct {
	NPerms int
	Chart  string
}

func (w *Console) dashboard(c *gin.Context, v *View) error {
	days, err := w.svc.SignInsByDay(c.Request.Context(), v.Me, 14)
	if err != nil {
		return err
	}
	chart := struct {
		Name   string   `json:"name"`
		Labels []string `json:"labels"`
		Values []int64  `json:"values"`
	}{Name: v.T("dashboard.signins")}
	for _, d := range days {
		chart.Labels = append(chart.Labels, d.Day[5:])
		chart.Values = append(chart.Values, d.Count)
	}
	b, _ := json.Marshal(chart)
	v.Charts = true
	return w.show(c, v, "dashboard", "dashboard.title", dashboardPage{NPerms: len(v.Me.Permissions()), Chart: string(b)})
}

// Users.

type usersPage struct {
	List     List
	CanWrite bool
	Units    []identity.OrgUnit
	Roles    []identity.Role
}

func userColumns(v *View) []Column[identity.User] {
	return []Column[identity.User]{
		{Header: "users.login", Cell: func(u identity.User) string { return u.Login }, Link: func(u identity.User) string { return "/users/" + u.ID.String() }},
		{Header: "users.name", Cell: func(u identity.User) string { return u.DisplayName }},
		{Header: "users.phone", Cell: func(u identity.User) string { return u.Phone }},
		{Header: "users.roles", Cell: func(u identity.User) string {
			names := make([]string, len(u.Roles))
			for i, r := range u.Roles {
				names[i] = v.T("role." + r)
			}
			return strings.Join(names, ", ")
		}},
		{Header: "users.status", Cell: func(u identity.User) string {
			switch {
			case u.Disabled:
				return v.T("users.disabled")
			case u.LockedUntil != nil && u.LockedUntil.After(time.Now()):
				return v.T("users.locked")
			}
			return v.T("users.active")
		}},
		{Header: "users.last_login", Cell: func(u identity.User) string { return v.Time(u.LastLoginAt) }},
	}
}

func (w *Console) users(c *gin.Context, v *View) error {
	ctx := c.Request.Context()
	f := identity.UserFilter{Q: c.Query("q"), Role: c.Query("role")}
	if s := c.Query("cursor"); s != "" {
		f.After, _ = uuid.Parse(s)
	}
	cols := userColumns(v)
	if c.Query("format") == "csv" {
		return w.csv(c, "users.csv", func() error {
			return WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(identity.User) error) error {
				f.After = uuid.Nil
				for {
					page, next, err := w.svc.ListUsers(ctx, v.Me, f)
					if err != nil {
						return err
					}
					for _, u := range page {
						if err := fn(u); err != nil {
							return err
						}
					}
					if next == uuid.Nil {
						return nil
					}
					f.After = next
				}
			})
		})
	}
	items, next, err := w.svc.ListUsers(ctx, v.Me, f)
	if err != nil {
		return err
	}
	p := usersPage{CanWrite: v.Me.Can(identity.PermUserWrite)}
	roleOpts := []Option{}
	if p.CanWrite {
		if p.Roles, err = w.grantable(c, v); err != nil {
			return err
		}
		if v.Me.Can(identity.PermOrgRead) {
			if p.Units, err = w.svc.OrgTree(ctx, v.Me); err != nil {
				return err
			}
		}
	}
	for _, r := range identity.BuiltinRoles() {
		roleOpts = append(roleOpts, Option{Value: r.Key, Label: v.T("role." + r.Key), Selected: r.Key == f.Role})
	}
	filters := []Filter{{Name: "q", Label: "list.search", Type: "search", Value: f.Q}, {Name: "role", Label: "users.roles", Type: "select", Value: f.Role, Options: roleOpts}}
	p.List = NewList("users-list", cols, items, filters, c.Request.URL, cursorOf(next), true)
	return w.show(c, v, "users", "users.title", p)
}

// grantable lists the roles the principal could grant (the service decides for real).
func (w *Console) grantable(c *gin.Context, v *View) ([]identity.Role, error) {
	if !v.Me.Can(identity.PermRoleRead) {
		var out []identity.Role
		for _, r := range identity.BuiltinRoles() {
			if (r.Scope == identity.LevelMerchant) == (v.Me.User.Kind == identity.KindMerchant) && r.Key != identity.RoleMerchantOwner {
				out = append(out, identity.Role{Key: r.Key, Scope: r.Scope, Permissions: r.Permissions})
			}
		}
		return out, nil
	}
	return w.svc.ListRoles(c.Request.Context(), v.Me)
}

func (w *Console) createUser(c *gin.Context, v *View) error {
	in := identity.NewUser{Login: c.PostForm("login"), DisplayName: c.PostForm("display_name"), Phone: c.PostForm("phone"),
		Password: c.PostForm("password"), Roles: c.PostFormArray("roles"), Kind: identity.UserKind(c.PostForm("kind"))}
	in.OrgUnitID, _ = uuid.Parse(c.PostForm("org_unit_id"))
	u, err := w.svc.CreateUser(c.Request.Context(), v.Me, in)
	if err != nil {
		return w.rerender(c, v, err, w.users)
	}
	v.Flash = v.T("users.created", "Login", u.Login)
	return w.users(c, v)
}

type userPage struct {
	User     identity.User
	CanWrite bool
	Roles    []roleChoice
}

type roleChoice struct {
	Key     string
	Checked bool
}

func (w *Console) user(c *gin.Context, v *View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("identity.user")
	}
	u, err := w.svc.GetUser(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	p := userPage{User: u, CanWrite: v.Me.Can(identity.PermUserWrite) && id != v.Me.User.ID}
	if p.CanWrite {
		roles, err := w.grantable(c, v)
		if err != nil {
			return err
		}
		for _, r := range roles {
			if (r.Scope == identity.LevelMerchant) == (u.Kind == identity.KindMerchant) {
				p.Roles = append(p.Roles, roleChoice{Key: r.Key, Checked: slices.Contains(u.Roles, r.Key)})
			}
		}
	}
	return w.show(c, v, "user", "users.title", p)
}

func (w *Console) setRoles(c *gin.Context, v *View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("identity.user")
	}
	if _, err := w.svc.SetUserRoles(c.Request.Context(), v.Me, id, c.PostFormArray("roles")); err != nil {
		return w.rerender(c, v, err, w.user)
	}
	v.Flash = v.T("users.saved")
	return w.user(c, v)
}

func (w *Console) setStatus(c *gin.Context, v *View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("identity.user")
	}
	disabled := c.PostForm("disabled") == "true"
	if _, err := w.svc.UpdateUser(c.Request.Context(), v.Me, id, identity.UserPatch{Disabled: &disabled}); err != nil {
		return w.rerender(c, v, err, w.user)
	}
	v.Flash = v.T("users.saved")
	return w.user(c, v)
}

// Org tree.

type orgPage struct {
	Units    []identity.OrgUnit
	CanWrite bool
}

func (w *Console) org(c *gin.Context, v *View) error {
	units, err := w.svc.OrgTree(c.Request.Context(), v.Me)
	if err != nil {
		return err
	}
	ordered := treeOrder(units)
	return w.show(c, v, "org", "org.title", orgPage{Units: ordered, CanWrite: v.Me.Can(identity.PermOrgWrite)})
}

// treeOrder puts units in depth-first order (each followed by its children), so that
// indentation shows the tree.
func treeOrder(units []identity.OrgUnit) []identity.OrgUnit {
	children := map[uuid.UUID][]identity.OrgUnit{}
	known := map[uuid.UUID]bool{}
	for _, u := range units {
		known[u.ID] = true
	}
	var roots []identity.OrgUnit
	for _, u := range units {
		if u.ParentID.Valid && known[u.ParentID.UUID] {
			children[u.ParentID.UUID] = append(children[u.ParentID.UUID], u)
		} else {
			roots = append(roots, u)
		}
	}
	var out []identity.OrgUnit
	var walk func(u identity.OrgUnit)
	walk = func(u identity.OrgUnit) {
		out = append(out, u)
		for _, ch := range children[u.ID] {
			walk(ch)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

func (w *Console) createUnit(c *gin.Context, v *View) error {
	parent, _ := uuid.Parse(c.PostForm("parent_id"))
	_, err := w.svc.CreateOrgUnit(c.Request.Context(), v.Me, identity.NewOrgUnit{ParentID: parent, Kind: identity.OrgKind(c.PostForm("kind")), Name: c.PostForm("name")})
	if err != nil {
		return w.rerender(c, v, err, w.org)
	}
	c.Redirect(http.StatusSeeOther, "/org")
	return nil
}

func (w *Console) moveUnit(c *gin.Context, v *View) error {
	id, _ := uuid.Parse(c.PostForm("id"))
	parent, _ := uuid.Parse(c.PostForm("parent_id"))
	if _, err := w.svc.MoveOrgUnit(c.Request.Context(), v.Me, id, parent); err != nil {
		return w.rerender(c, v, err, w.org)
	}
	c.Redirect(http.StatusSeeOther, "/org")
	return nil
}

// Roles.

type rolesPage struct {
	Roles       []identity.Role
	CanWrite    bool
	Scopes      []identity.Level
	Permissions []permChoice
	Form        roleForm
}

type roleForm struct {
	Edit   bool
	Action string
	Key    string
	Name   string
	Scope  identity.Level
}

type permChoice struct {
	Key     identity.Permission
	Checked bool
}

func (w *Console) roles(c *gin.Context, v *View) error {
	roles, err := w.svc.ListRoles(c.Request.Context(), v.Me)
	if err != nil {
		return err
	}
	p := rolesPage{Roles: roles, CanWrite: v.Me.Can(identity.PermRoleWrite), Scopes: identity.Levels(),
		Form: roleForm{Action: "/roles", Scope: identity.LevelOwn}}
	var held []identity.Permission
	if id := c.Param("id"); id != "" {
		i := slices.IndexFunc(roles, func(r identity.Role) bool { return r.ID.String() == id })
		if i < 0 {
			return errs.NotFound("identity.role")
		}
		r := roles[i]
		p.Form = roleForm{Edit: true, Action: "/roles/" + id, Key: r.Key, Name: r.Name, Scope: r.Scope}
		held = r.Permissions
	}
	for _, perm := range identity.Permissions() {
		p.Permissions = append(p.Permissions, permChoice{Key: perm, Checked: slices.Contains(held, perm)})
	}
	return w.show(c, v, "roles", "roles.title", p)
}

func roleInput(c *gin.Context) identity.RoleInput {
	in := identity.RoleInput{Key: c.PostForm("key"), Name: c.PostForm("name"), Scope: identity.Level(c.PostForm("scope"))}
	for _, p := range c.PostFormArray("permissions") {
		in.Permissions = append(in.Permissions, identity.Permission(p))
	}
	return in
}

func (w *Console) createRole(c *gin.Context, v *View) error {
	if _, err := w.svc.CreateRole(c.Request.Context(), v.Me, roleInput(c)); err != nil {
		return w.rerender(c, v, err, w.roles)
	}
	c.Redirect(http.StatusSeeOther, "/roles")
	return nil
}

func (w *Console) updateRole(c *gin.Context, v *View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("identity.role")
	}
	if _, err := w.svc.UpdateRole(c.Request.Context(), v.Me, id, roleInput(c)); err != nil {
		return w.rerender(c, v, err, w.roles)
	}
	c.Redirect(http.StatusSeeOther, "/roles")
	return nil
}

// Tokens.

type tokensPage struct {
	List      List
	Revocable []identity.Token
	CanCreate bool
	Secret    string
}

func (w *Console) tokens(c *gin.Context, v *View) error {
	return w.tokensWith(c, v, "")
}

func (w *Console) tokensWith(c *gin.Context, v *View, secret string) error {
	cursor, _ := uuid.Parse(c.Query("cursor"))
	items, next, err := w.svc.ListTokens(c.Request.Context(), v.Me, cursor, 0)
	if err != nil {
		return err
	}
	now := time.Now()
	status := func(t identity.Token) string {
		switch {
		case t.RevokedAt != nil:
			return v.T("tokens.revoked")
		case !t.ExpiresAt.After(now):
			return v.T("tokens.expired")
		}
		return v.T("tokens.valid")
	}
	cols := []Column[identity.Token]{
		{Header: "tokens.name", Cell: func(t identity.Token) string { return t.Name }},
		{Header: "tokens.prefix", Cell: func(t identity.Token) string { return t.Prefix + "…" }},
		{Header: "tokens.owner", Cell: func(t identity.Token) string { return t.OwnerLogin }},
		{Header: "tokens.expires", Cell: func(t identity.Token) string { return v.Time(t.ExpiresAt) }},
		{Header: "tokens.last_used", Cell: func(t identity.Token) string {
			if t.LastUsedAt == nil {
				return v.T("tokens.never")
			}
			return v.Time(t.LastUsedAt)
		}},
		{Header: "tokens.status", Cell: status},
	}
	p := tokensPage{List: NewList("tokens-list", cols, items, nil, c.Request.URL, cursorOf(next), false),
		CanCreate: v.Me.Can(identity.PermTokenCreate), Secret: secret}
	for _, t := range items {
		if t.RevokedAt == nil && t.ExpiresAt.After(now) {
			p.Revocable = append(p.Revocable, t)
		}
	}
	return w.show(c, v, "tokens", "tokens.title", p)
}

func (w *Console) createToken(c *gin.Context, v *View) error {
	days, _ := strconv.Atoi(c.PostForm("ttl_days"))
	_, secret, err := w.svc.CreateToken(c.Request.Context(), v.Me, identity.NewToken{Name: c.PostForm("name"), TTL: time.Duration(days) * 24 * time.Hour})
	if err != nil {
		return w.rerender(c, v, err, w.tokens)
	}
	return w.tokensWith(c, v, secret)
}

func (w *Console) revokeToken(c *gin.Context, v *View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("identity.token")
	}
	if err := w.svc.RevokeToken(c.Request.Context(), v.Me, id); err != nil {
		return w.rerender(c, v, err, w.tokens)
	}
	c.Redirect(http.StatusSeeOther, "/tokens")
	return nil
}

// Audit log.

type auditPage struct{ List List }

func (w *Console) audit(c *gin.Context, v *View) error {
	f, err := audit.ParseFilter(c.Request.URL.Query())
	if err != nil {
		return err
	}
	cols := []Column[audit.Entry]{
		{Header: "audit.at", Cell: func(e audit.Entry) string { return v.Time(e.At) }},
		{Header: "audit.actor", Cell: func(e audit.Entry) string { return e.ActorLogin }},
		{Header: "audit.action", Cell: func(e audit.Entry) string { return e.Action }},
		{Header: "audit.object_type", Cell: func(e audit.Entry) string { return e.ObjectType }},
		{Header: "audit.object_id", Cell: func(e audit.Entry) string { return e.ObjectID }},
		{Header: "audit.change", Cell: func(e audit.Entry) string { return change(e) }},
		{Header: "audit.ip", Cell: func(e audit.Entry) string { return e.IP }},
		{Header: "audit.request_id", Cell: func(e audit.Entry) string { return e.RequestID }},
	}
	if c.Query("format") == "csv" {
		return w.csv(c, "audit.csv", func() error {
			return WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(audit.Entry) error) error {
				f.Before = uuid.Nil
				return w.svc.ExportAudit(c.Request.Context(), v.Me, f, fn)
			})
		})
	}
	items, next, err := w.svc.ListAudit(c.Request.Context(), v.Me, f)
	if err != nil {
		return err
	}
	q := c.Request.URL.Query()
	filters := []Filter{
		{Name: "actor", Label: "audit.actor", Type: "text", Value: q.Get("actor")},
		{Name: "action", Label: "audit.action", Type: "text", Value: q.Get("action")},
		{Name: "object_type", Label: "audit.object_type", Type: "text", Value: q.Get("object_type")},
		{Name: "object_id", Label: "audit.object_id", Type: "text", Value: q.Get("object_id")},
		{Name: "since", Label: "audit.since", Type: "date", Value: q.Get("since")},
		{Name: "until", Label: "audit.until", Type: "date", Value: q.Get("until")},
	}
	list := NewList("audit-list", cols, items, filters, c.Request.URL, cursorOf(next), v.Me.Can(identity.PermAuditExport))
	return w.show(c, v, "audit", "audit.title", auditPage{List: list})
}

func change(e audit.Entry) string {
	var b strings.Builder
	if len(e.Before) > 0 {
		b.Write(e.Before)
		b.WriteString(" → ")
	}
	b.Write(e.After)
	s := b.String()
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return s
}

// csv starts a CSV download; write streams the rows. A failure after the header is
// sent can only end the body early (and is logged).
func (w *Console) csv(c *gin.Context, name string, write func() error) error {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, name))
	c.Status(http.StatusOK)
	if err := write(); err != nil {
		if !c.Writer.Written() {
			return err
		}
		w.log.ErrorContext(c.Request.Context(), "export failed midway", "file", name, "err", err)
	}
	return nil
}

func cursorOf(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// ErrorMessage words err for a reader of lang as the console's pages do; the API's
// error answers use it for callers that send Accept-Language (httpx.Translate).
func (w *Console) ErrorMessage(lang string, err error) string {
	v := &View{cat: w.cat, Lang: w.cat.Lang(lang)}
	return v.message(err)
}
