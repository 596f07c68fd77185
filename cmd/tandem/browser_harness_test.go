package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The one harness of the console's Chromium tests: Debian's Chromium, headless, driven
// by chromedp against the whole application served on loopback. Steps act from the page
// itself (fill, click, submit by script, then wait for a condition), because right after
// a navigation that a click started chromedp's node ids can be stale for a moment; a
// page that is being replaced fails to evaluate, which counts as "not yet".

// Window sizes the tests use: a field rep's phone and a manager's desktop.
const (
	phoneWidth, phoneHeight     = 390, 844
	desktopWidth, desktopHeight = 1280, 900
)

// waitFor is how long one condition may take before its step fails.
const waitFor = 15 * time.Second

// browser is one Chromium session against one served application.
type browser struct {
	t     *testing.T
	ctx   context.Context
	url   string // the application's base URL
	shots string // where a failed step leaves its screenshot
}

// startBrowser serves a's router on loopback and opens Chromium with a window of the
// given size; both are closed when the test ends.
func startBrowser(t *testing.T, a *app, width, height int) *browser {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run 'make test' (it installs it) or 'apt-get install chromium fonts-noto-cjk'")
	}
	srv := httptest.NewServer(a.router())
	t.Cleanup(srv.Close)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancel(); cancelCtx(); cancelAlloc() })
	return &browser{t: t, ctx: ctx, url: srv.URL, shots: t.TempDir()}
}

// step runs actions in order; the first that fails ends the test with the step's name,
// a screenshot and the start of the page's text.
func (b *browser) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	err := chromedp.Do(b.ctx, actions...)
	if err == nil {
		return
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Second)
	defer scancel()
	file := filepath.Join(b.shots, strings.NewReplacer(" ", "_", "/", "_", ":", "_").Replace(name)+".png")
	if buf, serr := chromedp.Run(sctx, chromedp.FullScreenshot(80)); serr == nil && os.WriteFile(file, buf, 0o644) == nil {
		b.t.Logf("screenshot: %s", file)
	}
	body, _ := chromedp.Run(sctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
	b.t.Fatalf("%s: %v\nthe page reads:\n%s", name, err, body)
}

// read evaluates a JavaScript expression that yields a string, such as a value the
// page shows that a later step needs.
func (b *browser) read(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("reading %s: %v", js, err)
	}
	return s
}

// open navigates to a path of the application.
func (b *browser) open(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Navigate(b.url + path)
}

// page opens a path and waits for the page's title.
func (b *browser) page(path, wantTitle string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(b.open(path), title(wantTitle))
}

// nav follows a menu entry (it must be in the menu) and waits for its page's title.
func (b *browser) nav(entry, wantTitle string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			href, err := chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).getAttribute("href")`, entry))(ctx, tg)
			if err != nil {
				return fmt.Errorf("menu entry %s: %w", entry, err)
			}
			_, err = chromedp.Navigate(b.url+href)(ctx, tg)
			return err
		}),
		title(wantTitle))
}

// lang switches the console's language ("zh-CN" or "en") and lands on the dashboard.
func (b *browser) lang(tag string) chromedp.Action[chromedp.Void] {
	return b.open("/lang/" + tag + "?back=/")
}

// signIn signs in with the demo password. A page with a title is a signed-in page.
func (b *browser) signIn(login string) chromedp.Action[chromedp.Void] {
	return b.signInWith(login, demoPassword)
}

// signInWith fills and submits the sign-in form from the page itself, retried until it
// is done: a page still being replaced (the redirect of a sign-out) fails for a moment.
func (b *browser) signInWith(login, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(b.open("/login"), until(fmt.Sprintf(`(() => {
		if (document.querySelector("#page-title")) return true;
		const l = document.querySelector("#login"), p = document.querySelector("#password"), b = document.querySelector("#login-submit");
		if (!l || !p || !b || b.dataset.sent) return false;
		l.value = %q; p.value = %q; b.dataset.sent = "1"; b.click();
		return false;
	})()`, login, password)))
}

// signOut signs out from the dashboard and waits for the sign-in form.
func (b *browser) signOut() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(b.open("/"), jsClick("#logout"), until(`document.querySelector("#login") !== null`))
}

// viewport resizes the window, e.g. to a phone's.
func viewport(width, height int) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(int64(width), int64(height))
}

// until waits for a JavaScript expression to hold.
func until(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var last error
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); {
			ok, err := chromedp.Evaluate[bool](js)(ctx, tg)
			if err == nil && ok {
				return nil
			}
			last = err
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
		return fmt.Errorf("waiting for %s (last error %v)", js, last)
	})
}

// do runs a script in the page once the page can run it.
func do(js string) chromedp.Action[chromedp.Void] {
	return until("(() => { " + js + "; return true })()")
}

// text is the JavaScript expression of an element's text ("" while it is absent).
func text(sel string) string {
	return fmt.Sprintf(`(document.querySelector(%q)||{innerText:""}).innerText`, sel)
}

// shows waits until an element's text contains want.
func shows(sel, want string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(e => e !== null && e.innerText.includes(%q))(document.querySelector(%q))`, want, sel))
}

// omits waits until an element is there and its text does not contain unwanted.
func omits(sel, unwanted string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(e => e !== null && !e.innerText.includes(%q))(document.querySelector(%q))`, unwanted, sel))
}

// title waits until the page's title starts with want.
func title(want string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(e => e !== null && e.innerText.trim().startsWith(%q))(document.querySelector("#page-title"))`, want))
}

// jsClick clicks the first element matching sel once it is there.
func jsClick(sel string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(e => e ? (e.click(), true) : false)(document.querySelector(%q))`, sel))
}

// confirmClick clicks like jsClick and answers the data-confirm question with yes.
func confirmClick(sel string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(e => e ? (window.confirm = () => true, e.click(), true) : false)(document.querySelector(%q))`, sel))
}

// submit fills a form's fields by name and submits it once, skipping its data-confirm
// question (the question itself is the shell's, tested once in shared/web).
func submit(form string, fields map[string]string) chromedp.Action[chromedp.Void] {
	v, _ := json.Marshal(fields)
	return until(fmt.Sprintf(`(f => {
		if (!f || f.dataset.sent) return false;
		const v = %s;
		for (const k in v) { const e = f.querySelector('[name="' + k + '"]'); if (!e) return false; e.value = v[k]; }
		f.dataset.sent = "1"; f.removeAttribute("data-confirm"); f.requestSubmit(); return true;
	})(document.querySelector(%q))`, v, form))
}

// fitsPhone holds when the page does not scroll sideways on a phone, or its wide
// table scrolls inside its own frame.
func fitsPhone() chromedp.Action[chromedp.Void] {
	return until(`document.documentElement.scrollWidth <= window.innerWidth + 1 ||
		[...document.querySelectorAll(".table-wrap")].some(w => getComputedStyle(w).overflowX !== "visible")`)
}
