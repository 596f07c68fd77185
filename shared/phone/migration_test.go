package phone_test

import (
	"context"
	"testing"

	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/phone"
)

// platform.phone_e164, which brings phones stored before shared/phone to E.164 in the
// domains' data migrations, agrees with Normalize on every form the three old
// normalisations could have stored: merchant's digits (with +86 and 0086 stripped, so a
// landline given as +86 21 ... lost its 0), and consumer's and identity's trimmed input.
func TestMigrationFunctionAgreesWithNormalize(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	old := map[string]string{ // as stored by the old code → what the number is
		"13800138000":         "13800138000",
		"8613800138000":       "8613800138000",
		"02162880000":         "021-6288-0000",
		"2162880000":          "+86 21 6288 0000", // merchant's +86 landline
		"1065529988":          "+86 10 6552 9988",
		"+442079460958":       "+44 20 7946 0958",
		"+86 139-0000-0001":   "+86 139-0000-0001",
		"+86 (0)21 6288 0000": "+86 (0)21 6288 0000",
		"138 0013 8000":       "138 0013 8000",
		"021-6288-0000":       "021-6288-0000",
		"0086 21 6288 0000":   "0086 21 6288 0000",
		"(021) 6288 0000":     "(021) 6288 0000",
		"13812345678":         "13812345678",
	}
	for stored, number := range old {
		want, err := phone.Normalize("phone", number)
		if err != nil {
			t.Fatalf("%q: %v", number, err)
		}
		var got string
		if err := db.QueryRow(context.Background(), `SELECT platform.phone_e164($1)`, stored).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("platform.phone_e164(%q) = %q, want %q", stored, got, want)
		}
	}
	// What it cannot read stays as it was (shown masked, refused when next edited).
	for _, stored := range []string{"12345", "call me", ""} {
		var got string
		if err := db.QueryRow(context.Background(), `SELECT platform.phone_e164($1)`, stored).Scan(&got); err != nil || got != stored {
			t.Errorf("platform.phone_e164(%q) = %q, %v", stored, got, err)
		}
	}
}
