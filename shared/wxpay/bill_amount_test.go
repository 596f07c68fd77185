package wxpay

import "testing"

func TestParseFixed(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale int
		want  int64
		ok    bool
	}{
		{"12.34", 2, 1234, true}, {"0.01", 2, 1, true}, {"-1.56", 2, -156, true}, {"7", 2, 700, true},
		{"7.5", 2, 750, true}, {"0.04000", 5, 4000, true}, {"-1.56000", 5, -156000, true},
		{"1.001", 2, 0, false}, {"1.", 2, 0, false}, {".5", 2, 0, false}, {"", 2, 0, false}, {"-", 2, 0, false},
		{"1,000.00", 2, 0, false}, {"1e3", 2, 0, false}, {"99999999999999999.99", 2, 0, false}, {"9999999999999999.99", 2, 999999999999999999, true},
		{"12345678901234567.89", 2, 0, false},
	} {
		got, ok := parseFixed(tc.in, tc.scale)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseFixed(%q, %d) = %d, %v; want %d, %v", tc.in, tc.scale, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSplitFields(t *testing.T) {
	for in, want := range map[string][]string{
		"`a,`b,`":    {"a", "b", ""},
		"`a,b,`c":    {"a,b", "c"},
		"a,b,c":      {"a", "b", "c"},
		"`":          {""},
		"`x,`,`,`y":  {"x", "", "", "y"},
		"`trailing,": {"trailing,"},
	} {
		got := splitFields(in, nil)
		if len(got) != len(want) {
			t.Errorf("splitFields(%q) = %q, want %q", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("splitFields(%q) = %q, want %q", in, got, want)
			}
		}
	}
}
