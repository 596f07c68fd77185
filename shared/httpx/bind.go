package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Validator is implemented by request DTOs that check their own fields; the error
// should be an errs.Error naming the field.
type Validator interface{ Validate() error }

// BindJSON decodes the body strictly into v (unknown fields, trailing data, a wrong
// type: each a 400 naming the field), applies the input contract to every string in
// it (valid UTF-8, no NUL, its maxlen, money within WeChat Pay's bounds: see
// input.go), then runs v.Validate when v has one.
func BindJSON(c *gin.Context, v any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errs.E(errs.KindInvalid, "unsupported_media_type", "send the body as application/json")
		}
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return err // rendered as 413
		}
		return errs.Wrap(err, errs.KindInvalid, "invalid_body", "could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errs.E(errs.KindInvalid, "invalid_body", "the request body is empty; send a JSON object")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD, so it is refused first,
	// naming the field whose string holds it.
	if !utf8.Valid(body) {
		field := fieldAt(body, invalidUTF8At(body))
		return &errs.Error{Kind: errs.KindInvalid, Code: CodeInvalidText, Field: field,
			Message: field + " is not valid UTF-8 text"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errs.E(errs.KindInvalid, "invalid_body", "the body has data after the JSON object")
	}
	if err := checkFields(reflect.ValueOf(v), "", DefaultMaxLen, ""); err != nil {
		return err
	}
	if val, ok := v.(Validator); ok {
		return val.Validate()
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errs.Wrap(err, errs.KindInvalid, "invalid_json", fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return &errs.Error{Kind: errs.KindInvalid, Code: "invalid_input", Field: field, Err: err,
			Message: fmt.Sprintf("%s must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &errs.Error{Kind: errs.KindInvalid, Code: "unknown_field", Field: field, Err: err, Message: "unknown field " + field}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Wrap(err, errs.KindInvalid, "invalid_json", "the JSON body ends too early")
	}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return err
	}
	return errs.Wrap(err, errs.KindInvalid, "invalid_json", "malformed JSON body")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	}
	return "an object"
}

// invalidUTF8At is the offset of body's first byte that is not valid UTF-8.
func invalidUTF8At(body []byte) int64 {
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n <= 1 {
			return int64(i)
		}
		i += n
	}
	return int64(len(body))
}

// fieldAt names the JSON value (or key) that holds byte offset off of body by its path
// ("items[2].sku"); "(body)" when off is outside any string the decoder reaches.
func fieldAt(body []byte, off int64) string {
	type frame struct {
		array     bool
		key       string
		index     int
		expectKey bool
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.array {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
		return b.String()
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.array {
			top.index++
		} else {
			top.expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "(body)"
		}
		end := dec.InputOffset()
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if top != nil && !top.array && top.expectKey {
			top.key, top.expectKey = fmt.Sprint(tok), false
			if end > off {
				return path()
			}
			continue
		}
		if end > off {
			if p := path(); p != "" {
				return p
			}
			return "(body)"
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{array: true})
		default:
			valueDone()
		}
	}
}
