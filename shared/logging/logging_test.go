package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

func TestEveryLineOfARequestCarriesItsID(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req-1")
	log.With("component", "x").WarnContext(ctx, "one")
	log.WithGroup("g").InfoContext(ctx, "two", "k", 1)
	log.Info("three") // no request
	dec := json.NewDecoder(&buf)
	var got []string
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		id, _ := m["request_id"].(string)
		if g, ok := m["g"].(map[string]any); ok && id == "" {
			id, _ = g["request_id"].(string)
		}
		got = append(got, id)
	}
	if len(got) != 3 || got[0] != "req-1" || got[1] != "req-1" || got[2] != "" {
		t.Fatalf("request ids per line: %q", got)
	}
}

func TestBadSettings(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "xml", "info"); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := New(&bytes.Buffer{}, "text", "loud"); err == nil {
		t.Error("level loud accepted")
	}
}
