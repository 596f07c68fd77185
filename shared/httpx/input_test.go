package httpx_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/httpx"
)

type contractItem struct {
	SKU  string   `json:"sku" maxlen:"8"`
	Tags []string `json:"tags" maxlen:"3"`
}

type contractReq struct {
	Name   string            `json:"name" maxlen:"5"`
	Note   *string           `json:"note"`
	Amount *string           `json:"amount" money:"yuan"`
	Items  []contractItem    `json:"items"`
	Attrs  map[string]string `json:"attrs"`
}

// contractEngine serves POST /c (the JSON binder) and GET /q/:id (parameters), and
// counts the handler runs that got through.
func contractEngine(reached *int) *gin.Engine {
	e := httpx.New(httpx.Options{})
	e.POST("/c", httpx.Handler(func(c *gin.Context) error {
		var r contractReq
		if err := httpx.BindJSON(c, &r); err != nil {
			return err
		}
		*reached++
		c.Status(http.StatusNoContent)
		return nil
	}))
	e.GET("/q/:id", func(c *gin.Context) { *reached++; c.Status(http.StatusNoContent) })
	e.POST("/form", func(c *gin.Context) { *reached++; c.String(http.StatusOK, c.PostForm("name")) })
	return e
}

func TestInputContract(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("长", httpx.DefaultMaxLen+1)
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"accepted", "POST", "/c", `{"name":"店铺","note":"ok","amount":"12.50","items":[{"sku":"A1","tags":["x"]}],"attrs":{"k":"v"}}`, 204, "", ""},
		{"max length in runes, not bytes", "POST", "/c", `{"name":"五个汉字啊"}`, 204, "", ""},
		{"NUL escaped in a field", "POST", "/c", `{"name":"a\u0000b"}`, 400, httpx.CodeInvalidText, "name"},
		{"NUL behind a pointer", "POST", "/c", `{"name":"a","note":"\u0000"}`, 400, httpx.CodeInvalidText, "note"},
		{"NUL in a nested list", "POST", "/c", `{"name":"a","items":[{"sku":"ok"},{"sku":"A","tags":["y","\u0000"]}]}`, 400, httpx.CodeInvalidText, "items[1].tags[1]"},
		{"NUL in a map key", "POST", "/c", `{"name":"a","attrs":{"k\u0000":"v"}}`, 400, httpx.CodeInvalidText, "attrs.k\x00"},
		{"invalid UTF-8 in a value", "POST", "/c", "{\"name\":\"a\",\"items\":[{\"sku\":\"\xff\xfe\"}]}", 400, httpx.CodeInvalidText, "items[0].sku"},
		{"invalid UTF-8 in a key", "POST", "/c", "{\"name\":\"a\",\"attrs\":{\"\xc3\":\"v\"}}", 400, httpx.CodeInvalidText, "attrs.\ufffd"},
		{"invalid UTF-8 at the top", "POST", "/c", "{\"name\":\"\xed\xa0\x80\"}", 400, httpx.CodeInvalidText, "name"},
		{"tagged maxlen", "POST", "/c", `{"name":"六个汉字啊啊"}`, 400, httpx.CodeTextTooLong, "name"},
		{"maxlen on list elements", "POST", "/c", `{"name":"a","items":[{"sku":"A","tags":["abcd"]}]}`, 400, httpx.CodeTextTooLong, "items[0].tags[0]"},
		{"default maxlen", "POST", "/c", `{"name":"a","note":"` + long + `"}`, 400, httpx.CodeTextTooLong, "note"},
		{"the largest WeChat total", "POST", "/c", `{"name":"a","amount":"21474836.47"}`, 204, "", ""},
		{"one fen more", "POST", "/c", `{"name":"a","amount":"21474836.48"}`, 400, httpx.CodeAmountOutOfRange, "amount"},
		{"the issue's order", "POST", "/c", `{"name":"a","amount":"92233720368547758.07"}`, 400, httpx.CodeAmountOutOfRange, "amount"},
		{"zero", "POST", "/c", `{"name":"a","amount":"0.00"}`, 400, httpx.CodeAmountOutOfRange, "amount"},
		{"negative", "POST", "/c", `{"name":"a","amount":"-1"}`, 400, httpx.CodeAmountOutOfRange, "amount"},
		{"not an amount", "POST", "/c", `{"name":"a","amount":"1e3"}`, 400, "money.invalid_amount", "amount"},
		{"NUL in a path parameter", "GET", "/q/a%00b", "", 400, httpx.CodeInvalidText, "id"},
		{"invalid UTF-8 in a path parameter", "GET", "/q/%ff", "", 400, httpx.CodeInvalidText, "id"},
		{"NUL in a query value", "GET", "/q/1?q=%00", "", 400, httpx.CodeInvalidText, "q"},
		{"invalid UTF-8 in a query value", "GET", "/q/1?mchid=%C3%28", "", 400, httpx.CodeInvalidText, "mchid"},
		{"NUL in a query name", "GET", "/q/1?a%00=1", "", 400, httpx.CodeInvalidText, "(parameter name)"},
		{"a long query value", "GET", "/q/1?q=" + url.QueryEscape(long), "", 400, httpx.CodeTextTooLong, "q"},
		{"clean parameters", "GET", "/q/1?q=" + url.QueryEscape("上海"), "", 204, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reached := 0
			w := do(contractEngine(&reached), tc.method, tc.path, tc.body, "Content-Type", "application/json")
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status < 300 {
				if reached != 1 {
					t.Fatal("the handler did not run")
				}
				return
			}
			e := errorOf(t, w)
			if e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, strings.ToValidUTF8(tc.field, "\ufffd")) {
				t.Fatalf("error %+v, want code %s field %q", e, tc.code, tc.field)
			}
			if reached != 0 {
				t.Fatal("the handler ran on refused input")
			}
		})
	}
}

// Console forms get the same contract before their handler; a clean form still
// reaches the handler's PostForm.
func TestInputContractOnForms(t *testing.T) {
	t.Parallel()
	reached := 0
	e := contractEngine(&reached)
	w := do(e, "POST", "/form", "name=%E5%BA%97&x=1", "Content-Type", "application/x-www-form-urlencoded")
	if w.Code != 200 || w.Body.String() != "店" || reached != 1 {
		t.Fatalf("clean form: %d %s", w.Code, w.Body)
	}
	w = do(e, "POST", "/form", "name=a%00", "Content-Type", "application/x-www-form-urlencoded")
	if e := errorOf(t, w); w.Code != 400 || e.Field != "name" || e.Code != httpx.CodeInvalidText || reached != 1 {
		t.Fatalf("NUL in a form: %d %+v", w.Code, e)
	}
}

type badTagReq struct {
	Name string `json:"name" maxlen:"many"`
}

// A malformed maxlen tag is a bug: 500, never a silent default.
func TestBadMaxLenTagIsABug(t *testing.T) {
	t.Parallel()
	e := httpx.New(httpx.Options{})
	e.POST("/b", httpx.Handler(func(c *gin.Context) error { var r badTagReq; return httpx.BindJSON(c, &r) }))
	if w := do(e, "POST", "/b", `{"name":"x"}`); w.Code != 500 {
		t.Fatalf("status %d", w.Code)
	}
}

// An upload's text fields (multipart/form-data) get the same contract; the handler still
// reads a clean form, file included.
func TestInputContractOnMultipartForms(t *testing.T) {
	t.Parallel()
	reached := 0
	e := contractEngine(&reached)
	form := func(name string) (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("name", name)
		fw, _ := mw.CreateFormFile("file", "leads.csv")
		_, _ = fw.Write([]byte("name\n\xff\x00 is the file's business\n"))
		_ = mw.Close()
		return b.String(), mw.FormDataContentType()
	}
	body, ct := form("店")
	w := do(e, "POST", "/form", body, "Content-Type", ct)
	if w.Code != 200 || w.Body.String() != "店" || reached != 1 {
		t.Fatalf("clean upload: %d %s", w.Code, w.Body)
	}
	for _, bad := range []string{"a\x00b", "ok\xffok"} {
		body, ct := form(bad)
		w := do(e, "POST", "/form", body, "Content-Type", ct)
		if e := errorOf(t, w); w.Code != 400 || e.Field != "name" || e.Code != httpx.CodeInvalidText || reached != 1 {
			t.Fatalf("%q in an upload's field: %d %+v", bad, w.Code, e)
		}
	}
}
