package web

import (
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Pages are one domain's console pages. A domain declares them in its Register
// (shared/domain), and cmd/tandem hands them to the console; the shell knows no domain.
type Pages struct {
	// Domain names the pages: a template "runs.html" is the page "recon/runs".
	Domain string
	// Templates holds the page templates (*.html at its root), each defining
	// "content" and using the shell's layout and components ("list", "form_error").
	Templates fs.FS
	// Messages holds zh-CN.json and en.json at its root: the domain's catalogue,
	// with the same keys in both (CheckPages tests it). Error codes of the domain
	// have keys "error.<code>", so that a refusal reads in the user's language.
	Messages fs.FS
	// Nav are the domain's menu entries, shown to those holding any of their permissions.
	Nav []NavItem
	// Mount adds the routes; r requires a signed-in staff member and checks the CSRF
	// token of every form. Handlers are made with Console.Handle.
	Mount func(r gin.IRouter, c *Console)
}

// Register adds a domain's pages to the console; call it before Mount.
func (w *Console) Register(p Pages) error {
	if p.Domain == "" || p.Mount == nil {
		return fmt.Errorf("web: pages need a Domain and a Mount")
	}
	if p.Messages != nil {
		if err := w.cat.Load(p.Messages); err != nil {
			return fmt.Errorf("web: %s catalogue: %w", p.Domain, err)
		}
	}
	if p.Templates != nil {
		if err := w.tpl.add(p.Domain, p.Templates); err != nil {
			return err
		}
	}
	w.nav = append(w.nav, p.Nav...)
	w.domains = append(w.domains, p)
	return nil
}

// Handle adapts a page handler: it is given the page's View (with the signed-in caller
// as View.Me), and a returned error is shown as the error page in the user's language.
func (w *Console) Handle(h func(c *gin.Context, v *View) error) gin.HandlerFunc { return w.handle(h) }

// Show renders page ("recon/runs") with title (a catalogue key) and data as View.Page,
// with the status already set on the response (200 unless Rerender set another).
func (w *Console) Show(c *gin.Context, v *View, page, title string, data any) error {
	return w.show(c, v, page, title, data)
}

// Rerender shows a form's page again after err, with the error in the user's language
// and the status of its kind; what was typed is in View.Form. An internal error is
// returned instead, to be shown as the error page.
func (w *Console) Rerender(c *gin.Context, v *View, err error, page func(*gin.Context, *View) error) error {
	if c.Request.Method == http.MethodPost {
		_ = c.Request.ParseForm()
		v.Form = c.Request.PostForm
	}
	return w.rerender(c, v, err, page)
}

// CSV starts a CSV download named name; write streams the rows (WriteCSV).
func (w *Console) CSV(c *gin.Context, name string, write func() error) error {
	return w.csv(c, name, write)
}

// Redirect sends the browser to path on this site after a successful form, with a
// flash message (a catalogue key) shown once on the next page.
func (w *Console) Redirect(c *gin.Context, path, flashKey string) error {
	if flashKey != "" {
		http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: flashKey, Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	c.Redirect(http.StatusSeeOther, localPath(path))
	return nil
}

const flashCookie = "tandem_flash"

// Value is what was typed into a form field, for a form shown again after an error.
func (v *View) Value(field string) string {
	if v.Form == nil {
		return ""
	}
	return v.Form.Get(field)
}

// Can reports whether the signed-in user holds perm (for showing a button).
func (v *View) Can(perm string) bool { return v.Me != nil && v.Me.Can(identity.Permission(perm)) }

// Yuan writes fen as yuan with two decimals: 12850 → "128.50".
func Yuan(fen int64) string { return decimal(fen, 2) }

func decimal(n int64, places int) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= places {
		s = strings.Repeat("0", places-len(s)+1) + s
	}
	s = s[:len(s)-places] + "." + s[len(s)-places:]
	if neg {
		s = "-" + s
	}
	return s
}

// NotFound answers a path no route matches: the HTML error page in the user's
// language for a console path, json for the API and the platform endpoints.
func (w *Console) NotFound(json gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/admin/") || c.Request.Method != http.MethodGet ||
			!strings.Contains(c.GetHeader("Accept"), "text/html") {
			json(c)
			return
		}
		w.fail(c, errs.E(errs.KindNotFound, httpx.CodeRouteNotFound, "no such page: "+p))
	}
}

// EmbeddedDir is dir of a domain's embedded files (its templates and catalogues).
// fs.Sub fails only on a malformed dir name, so an error here is a broken build.
func EmbeddedDir(files fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(fmt.Sprintf("web: embedded directory %q: %v", dir, err))
	}
	return sub
}
