package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Validator is implemented by request DTOs that check their own fields; the error
// should be an errs.Error naming the field.
type Validator interface{ Validate() error }

// BindJSON decodes the body strictly into v (unknown fields, trailing data, a wrong
// type: each a 400 naming the field), then runs v.Validate when v has one.
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errs.E(errs.KindInvalid, "invalid_body", "the body has data after the JSON object")
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
