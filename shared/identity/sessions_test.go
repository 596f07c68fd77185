package identity_test

import (
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

func TestLoginAndSession(t *testing.T) {
	w := newWorld(t)
	s, err := w.svc.Login(w.ctx, identity.LoginAttempt{Login: " SH1.Rep ", Password: demoPassword, IP: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Token == "" || s.CSRFToken == "" || s.User.Login != "sh1.rep" {
		t.Fatalf("session: %+v", s)
	}
	p, err := w.svc.AuthenticateSession(w.ctx, s.Token)
	if err != nil || p.User.Login != "sh1.rep" || p.SessionID != s.ID || p.CSRFToken != s.CSRFToken {
		t.Fatalf("authenticate: %v %+v", err, p)
	}
	if p.CheckCSRF("") == nil || p.CheckCSRF("forged") == nil || p.CheckCSRF(s.CSRFToken) != nil {
		t.Fatal("CSRF check")
	}
	_, err = w.svc.AuthenticateSession(w.ctx, s.Token+"x")
	wantCode(t, err, "identity.session_invalid")

	// Idle for longer than SessionIdle: expired.
	w.clock.Advance(3 * time.Hour)
	_, err = w.svc.AuthenticateSession(w.ctx, s.Token)
	wantCode(t, err, "identity.session_expired")

	// A fresh session, signed out: invalid.
	s2, err := w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh1.rep", Password: demoPassword, IP: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := w.svc.AuthenticateSession(w.ctx, s2.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Logout(w.ctx, p2); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.AuthenticateSession(w.ctx, s2.Token)
	wantCode(t, err, "identity.session_invalid")

	got := auditActions(t, w, audit.Filter{Actor: "sh1.rep", Action: "auth."})
	if len(got) != 3 || got[0] != "auth.logout" || got[1] != "auth.login" {
		t.Fatalf("audit: %v", got)
	}
}

func TestLockoutAfterFiveFailures(t *testing.T) {
	w := newWorld(t)
	try := func(pw string) error {
		_, err := w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh1.rep", Password: pw, IP: "10.0.0.2"})
		return err
	}
	for i := range 4 {
		wantCode(t, try("wrong-password-1"), "identity.bad_credentials")
		_ = i
	}
	err := try("wrong-password-1")
	wantCode(t, err, "identity.account_locked")
	if e := errs.As(err); e.RetryAfter < 14*60 || e.RetryAfter > 15*60 {
		t.Fatalf("retry after %d", e.RetryAfter)
	}
	// Locked: even the right password is refused, and changes nothing.
	wantCode(t, try(demoPassword), "identity.account_locked")
	w.clock.Advance(16 * time.Minute)
	if err := try(demoPassword); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// Unknown logins fail the same way as wrong passwords.
	_, err = w.svc.Login(w.ctx, identity.LoginAttempt{Login: "nobody", Password: "whatever-1", IP: "10.0.0.2"})
	wantCode(t, err, "identity.bad_credentials")

	got := auditActions(t, w, audit.Filter{ObjectID: w.demo.Users["sh1.rep"].String()})
	counts := map[string]int{}
	for _, a := range got {
		counts[a]++
	}
	if counts["auth.login_failed"] != 5 || counts["auth.account_locked"] != 1 || counts["auth.login_refused"] != 1 {
		t.Fatalf("audit: %v", counts)
	}
}

func TestLoginRateLimits(t *testing.T) {
	w := newWorld(t, func(c *identity.Config) { c.LoginPerIP = 3; c.LoginPerAccount = 100; c.LoginFailures = 100 })
	for range 3 {
		_, err := w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh1.rep", Password: "wrong-password-1", IP: "10.9.9.9"})
		wantCode(t, err, "identity.bad_credentials")
	}
	_, err := w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh2.rep", Password: demoPassword, IP: "10.9.9.9"})
	wantCode(t, err, "identity.login_rate_limited")
	if ra := errs.As(err).RetryAfter; ra < 1 || ra > 15*60 {
		t.Fatalf("retry after %d", ra)
	}
	// Another address is not limited.
	if _, err := w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh2.rep", Password: demoPassword, IP: "10.9.9.8"}); err != nil {
		t.Fatal(err)
	}

	w2 := newWorld(t, func(c *identity.Config) { c.LoginPerAccount = 2; c.LoginFailures = 100 })
	for i := range 2 {
		_, err := w2.svc.Login(w2.ctx, identity.LoginAttempt{Login: "hz1.rep", Password: "wrong-password-1", IP: "10.1.1." + string(rune('1'+i))})
		wantCode(t, err, "identity.bad_credentials")
	}
	_, err = w2.svc.Login(w2.ctx, identity.LoginAttempt{Login: "hz1.rep", Password: demoPassword, IP: "10.1.1.9"})
	wantCode(t, err, "identity.login_rate_limited")
}

func TestDisabledUserCannotSignIn(t *testing.T) {
	w := newWorld(t)
	s, err := w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh2.rep", Password: demoPassword})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := w.svc.UpdateUser(w.ctx, w.p(t, "admin"), w.demo.Users["sh2.rep"], identity.UserPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.AuthenticateSession(w.ctx, s.Token)
	wantCode(t, err, "identity.session_invalid")
	_, err = w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh2.rep", Password: demoPassword})
	wantCode(t, err, "identity.account_disabled")
	_, err = w.svc.UpdateUser(w.ctx, w.p(t, "admin"), w.demo.Users["admin"], identity.UserPatch{Disabled: &yes})
	wantCode(t, err, "identity.self_disable")
}

func TestSetPassword(t *testing.T) {
	w := newWorld(t)
	rep := w.p(t, "sh1.rep")
	wantCode(t, w.svc.SetPassword(w.ctx, rep, rep.User.ID, "wrong-current-1", "a-new-password-2"), "identity.current_password_wrong")
	wantCode(t, w.svc.SetPassword(w.ctx, rep, rep.User.ID, demoPassword, "short"), "identity.password_weak")
	if err := w.svc.SetPassword(w.ctx, rep, rep.User.ID, demoPassword, "a-new-password-2"); err != nil {
		t.Fatal(err)
	}
	// Another user's password needs identity.user.write over them: the rep's lead has none.
	wantCode(t, w.svc.SetPassword(w.ctx, w.p(t, "sh1.lead"), rep.User.ID, "", "third-password-3"), "identity.forbidden")
	wantCode(t, w.svc.SetPassword(w.ctx, w.p(t, "sh.manager"), w.demo.Users["hz1.rep"], "", "third-password-3"), "identity.user_not_found")
	// The city manager resets it, which also unlocks a locked account.
	for range 5 {
		_, _ = w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh1.rep", Password: "nope-nope-1"})
	}
	if err := w.svc.SetPassword(w.ctx, w.p(t, "sh.manager"), rep.User.ID, "", "third-password-3"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Login(w.ctx, identity.LoginAttempt{Login: "sh1.rep", Password: "third-password-3"}); err != nil {
		t.Fatalf("after reset: %v", err)
	}
}
