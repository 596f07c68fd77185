package outbox_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// The relay's hand-written envelope reads back as encoding/json's does, whatever the
// strings hold.
func TestEnvelopeReadsBackAsEncodingJSONWritesIt(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 1, 2, 3, 456789000, time.FixedZone("CST", 8*3600))
	for _, tc := range []struct{ topic, key, requestID, payload string }{
		{"order.paid", "o-1", "", `{"a": 1, "b": [true, null]}`},
		{"t", `quote " backslash \ slash /`, "req-\x00\x01\x1f", `"just a string"`},
		{"t", "newline\n tab\t cr\r <html> & \u2028 中文 😀", "r", `{"s": "中文 \"x\""}`},
		{"", "", "", `null`},
	} {
		id := uuid.Must(uuid.NewV7())
		got, err := outbox.Envelope(id, events.Topic(tc.topic), tc.key, at, tc.requestID, []byte(tc.payload))
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(events.Envelope{ID: id, Topic: events.Topic(tc.topic), Key: tc.key, OccurredAt: at,
			RequestID: tc.requestID, Payload: json.RawMessage(tc.payload)})
		if err != nil {
			t.Fatal(err)
		}
		var g, w map[string]any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("envelope %s\nreads as %v\nwant     %v", got, g, w)
		}
		var e events.Envelope
		if err := json.Unmarshal(got, &e); err != nil || !e.OccurredAt.Equal(at) || e.ID != id {
			t.Errorf("envelope %s: %+v, %v", got, e, err)
		}
	}
}
