package httpx

import (
	"fmt"
	"mime"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
)

// The input contract, checked at the edge for every request before a handler sees it:
// text is valid UTF-8 without NUL bytes (PostgreSQL stores neither), no longer than its
// field allows, and an amount of money is one WeChat Pay can charge. The query and path
// parameters (and console form fields) are checked by the middleware New installs, JSON
// bodies by BindJSON, so no handler repeats it.

// Error codes of the input contract; each answer names the field at fault.
const (
	CodeInvalidText      = "invalid_text"        // invalid UTF-8, or a NUL character
	CodeTextTooLong      = "text_too_long"       // more characters than the field's maxlen
	CodeAmountOutOfRange = "amount_out_of_range" // not 0.01 .. 21474836.47 yuan
	codeInternal         = "internal"            // a DTO's tag is malformed: a bug, not bad input
)

// DefaultMaxLen is the most characters (runes) a text field holds when its DTO field
// carries no `maxlen:"N"` tag, and the most a query or path parameter holds.
const DefaultMaxLen = 2000

// The struct tags BindJSON reads on request DTOs:
//
//	Name   string `json:"name" maxlen:"100"`   // at most 100 characters (default DefaultMaxLen)
//	Amount string `json:"amount" money:"yuan"` // a payable amount in yuan: 0.01 .. 21474836.47
//
// maxlen applies to a string, to what a *string points at, and to every string in a
// slice or map. money applies to a string, which must then hold an amount (an empty
// one is refused; a nil *string is left to the DTO's own rules).
const (
	tagMaxLen = "maxlen"
	tagMoney  = "money"
)

// checkText applies the contract to one text value named field.
func checkText(field, s string, maxLen int) error {
	if !utf8.ValidString(s) {
		return &errs.Error{Kind: errs.KindInvalid, Code: CodeInvalidText, Field: field,
			Message: field + " is not valid UTF-8 text"}
	}
	if strings.IndexByte(s, 0) >= 0 {
		return &errs.Error{Kind: errs.KindInvalid, Code: CodeInvalidText, Field: field,
			Message: field + " must not contain a NUL character"}
	}
	if n := utf8.RuneCountInString(s); n > maxLen {
		return &errs.Error{Kind: errs.KindInvalid, Code: CodeTextTooLong, Field: field,
			Message: fmt.Sprintf("%s has %d characters; at most %d are allowed", field, n, maxLen)}
	}
	return nil
}

// CheckPayable is the money rule of the edge: amount is a CNY amount in yuan ("12.50")
// of at least one fen and at most money.MaxPaymentFen, the largest total WeChat Pay
// takes (its amount.total is a 32-bit integer of fen).
func CheckPayable(field, amount string) (money.Money, error) {
	m, err := money.ParseYuan(amount)
	if err != nil {
		if e := errs.As(err); e != nil {
			return money.Money{}, e.WithField(field)
		}
		return money.Money{}, errs.Invalidf(field, "%s is an amount in yuan, e.g. \"12.50\"", field)
	}
	if m.Fen() < 1 || m.Fen() > money.MaxPaymentFen {
		return money.Money{}, &errs.Error{Kind: errs.KindInvalid, Code: CodeAmountOutOfRange, Field: field,
			Message: fmt.Sprintf("%s must be from 0.01 to %s yuan", field, money.MustNew(money.MaxPaymentFen, money.CNY))}
	}
	return m, nil
}

// checkFields walks a decoded request DTO and applies the contract to every exported
// string in it, naming the field by its JSON path ("items[2].sku").
func checkFields(v reflect.Value, path string, maxLen int, moneyTag string) error {
	switch v.Kind() {
	case reflect.String:
		if err := checkText(path, v.String(), maxLen); err != nil {
			return err
		}
		if moneyTag != "" {
			_, err := CheckPayable(path, v.String())
			return err
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkFields(v.Elem(), path, maxLen, moneyTag)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes (json.RawMessage, uuid.UUID) are not text
		}
		for i := range v.Len() {
			if err := checkFields(v.Index(i), path+"["+strconv.Itoa(i)+"]", maxLen, moneyTag); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			name := joinPath(path, fmt.Sprint(k.Interface()))
			if k.Kind() == reflect.String {
				if err := checkText(name, k.String(), maxLen); err != nil {
					return err
				}
			}
			if err := checkFields(it.Value(), name, maxLen, moneyTag); err != nil {
				return err
			}
		}
	case reflect.Struct:
		return checkStruct(v, path)
	}
	return nil
}

func checkStruct(v reflect.Value, path string) error {
	fields, err := fieldRulesOf(v.Type())
	if err != nil {
		return err
	}
	for _, f := range fields {
		fieldPath := path
		if f.name != "" {
			fieldPath = joinPath(path, f.name)
		}
		if err := checkFields(v.Field(f.index), fieldPath, f.maxLen, f.money); err != nil {
			return err
		}
	}
	return nil
}

// fieldRule is what the tags of one exported field of a request DTO ask.
type fieldRule struct {
	index  int
	name   string // the JSON name; "" for an embedded struct whose fields are promoted
	maxLen int
	money  string
}

// fieldRules caches the rules of each DTO type: tags are read once per type, not per
// request.
var fieldRules sync.Map // reflect.Type → []fieldRule or error

func fieldRulesOf(t reflect.Type) ([]fieldRule, error) {
	if cached, ok := fieldRules.Load(t); ok {
		if err, bad := cached.(error); bad {
			return nil, err
		}
		return cached.([]fieldRule), nil
	}
	var rules []fieldRule
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" && !f.Anonymous {
			name = f.Name
		}
		r := fieldRule{index: i, name: name, maxLen: DefaultMaxLen, money: f.Tag.Get(tagMoney)}
		if s, ok := f.Tag.Lookup(tagMaxLen); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				err := errs.E(errs.KindInternal, codeInternal, fmt.Sprintf("%s.%s: bad maxlen tag %q", t, f.Name, s))
				fieldRules.Store(t, error(err))
				return nil, err
			}
			r.maxLen = n
		}
		rules = append(rules, r)
	}
	fieldRules.Store(t, rules)
	return rules, nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkParams is the middleware that applies the contract to every path and query
// parameter, and to the fields of a URL-encoded form, before the handler runs.
func checkParams() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := paramsError(c); err != nil {
			Render(c, err)
			return
		}
		c.Next()
	}
}

// paramsError is the first parameter of c that breaks the contract, or nil.
func paramsError(c *gin.Context) error {
	for _, p := range c.Params {
		if err := checkText(p.Key, p.Value, DefaultMaxLen); err != nil {
			return err
		}
	}
	if c.Request.URL.RawQuery != "" {
		if err := checkValues(c.Request.URL.Query()); err != nil {
			return err
		}
	}
	if ct := c.GetHeader("Content-Type"); ct != "" && c.Request.Body != nil {
		switch mt, _, _ := mime.ParseMediaType(ct); mt {
		case "application/x-www-form-urlencoded":
			// Parsed here, kept on the request for the handler's PostForm; a form that
			// cannot be parsed is left for the handler to refuse as it did before.
			if c.Request.ParseForm() == nil {
				return checkValues(c.Request.PostForm)
			}
		case "multipart/form-data":
			// The same for an upload's text fields (its files are the handler's to read);
			// the body limit already bounds what parsing reads.
			if c.Request.ParseMultipartForm(multipartMemory) == nil && c.Request.MultipartForm != nil {
				return checkValues(c.Request.MultipartForm.Value)
			}
		}
	}
	return nil
}

// multipartMemory is how much of a multipart form is kept in memory; files beyond it
// go to temporary files, as net/http does by default.
const multipartMemory = 32 << 20

func checkValues(vals map[string][]string) error {
	for k, vs := range vals {
		if err := checkText("(parameter name)", k, DefaultMaxLen); err != nil {
			return err
		}
		for _, v := range vs {
			if err := checkText(k, v, DefaultMaxLen); err != nil {
				return err
			}
		}
	}
	return nil
}
