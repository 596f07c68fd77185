package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/shared/httpx"
)

// API refusals read in the caller's language when it sends Accept-Language, worded as
// the console words them; the code and the field never change, and without the header
// the message is the code's English one.
func TestAPIErrorsInTheCallersLanguage(t *testing.T) {
	t.Parallel()
	h := testApp(t).router()
	message := func(lang, body string, status int, code, field string) string {
		t.Helper()
		w := call(h, "POST", "/api/v1/sessions", body, "Accept-Language", lang)
		var got httpx.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != status || got.Error.Code != code || got.Error.Field != field {
			t.Fatalf("%s: want %d %s on %q, got %d %s", lang, status, code, field, w.Code, w.Body)
		}
		return got.Error.Message
	}
	for _, c := range []struct {
		lang, want string
	}{
		{"zh-CN,zh;q=0.9,en;q=0.8", "账号或密码错误。"},
		{"zh-TW", "账号或密码错误。"},
		{"en-GB,en;q=0.9", "Wrong login or password."},
		{"", "wrong login or password"},
		{"fr-FR", "wrong login or password"},
	} {
		if got := message(c.lang, `{"login":"nobody","password":"wrong-password-9"}`, 401, "identity.bad_credentials", ""); got != c.want {
			t.Errorf("bad credentials in %q: %q, want %q", c.lang, got, c.want)
		}
	}
	// The edge's input contract, in Chinese: a NUL byte, and a field left out.
	if got := message("zh-CN", "{\"login\":\"a\\u0000b\",\"password\":\"x\"}", 400, "invalid_text", "login"); got != "输入含有无效字符（如空字符或乱码），请检查后重试。" {
		t.Errorf("a NUL in the login, in Chinese: %q", got)
	}
	if got := message("zh-CN", `{"login":"admin"}`, 400, "invalid_input", "password"); !strings.Contains(got, "密码") {
		t.Errorf("a missing password, in Chinese: %q", got)
	}
}
