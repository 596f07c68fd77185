package phone_test

import (
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/phone"
)

func TestNormalizeEveryChineseForm(t *testing.T) {
	t.Parallel()
	forms := map[string][]string{
		"+8613800138000": {"13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+86-138-0013-8000",
			"+8613800138000", "8613800138000", "86 138 0013 8000", "008613800138000", "(+86) 138.0013.8000", " 13800138000 "},
		"+862162880000": {"+86 21 6288 0000", "021-6288-0000", "02162880000", "021 62880000", "(021) 6288 0000", "+86-21-62880000",
			"0086 21 6288 0000", "+86 (0)21 6288 0000"},
		"+861065529988":  {"010-6552-9988", "+86 10 6552 9988"},
		"+8657188888888": {"0571-8888-8888", "+86 571 8888 8888"},
		"+85291234567":   {"+852 9123 4567"}, // Hong Kong keeps its own country code
		"+14155552671":   {"+1 415-555-2671", "+1 (415) 555 2671"},
	}
	for want, ins := range forms {
		for _, in := range ins {
			got, err := phone.Normalize("phone", in)
			if err != nil || got != want {
				t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
			}
		}
	}
}

func TestNormalizeRefusesWhatIsNoNumber(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "   ", "12345", "1380013800", "138001380001", "23800138000", "021-628", "abc", "138 0013 80x0",
		"+86 000 0000 0000", "+999 1234567", "1380013800013800138000138000", "13800138000\x00", "一三八"} {
		got, err := phone.Normalize("owner_phone", in)
		e := errs.As(err)
		if e == nil || e.Kind != errs.KindInvalid || e.Code != phone.CodeInvalid || e.Field != "owner_phone" {
			t.Errorf("Normalize(%q) = %q, %v; want %s naming owner_phone", in, got, err, phone.CodeInvalid)
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+8613800138000": "138****8000",
		"+862162880000":  "021****0000",
		"+8657188888888": "057*****8888",
		"+14155552671":   "+1 ******2671",
		"13800138000":    "138****8000", // stored before normalising: still read as Chinese
		"x12":            "*12",
		"":               "",
	} {
		if got := phone.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// Normalising is idempotent: a stored number reads back as itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"13800138000", "+86 21 6288 0000", "8613800138000", "12345", "+1 415-555-2671", "0086 21 6288 0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e164, err := phone.Normalize("phone", s)
		if err != nil {
			return
		}
		again, err := phone.Normalize("phone", e164)
		if err != nil || again != e164 || e164[0] != '+' {
			t.Fatalf("Normalize(%q) = %q, which reads back as %q, %v", s, e164, again, err)
		}
		if m := phone.Mask(e164); m == "" || m == e164 {
			t.Fatalf("Mask(%q) = %q", e164, m)
		}
	})
}
