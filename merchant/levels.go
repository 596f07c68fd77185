package merchant

import (
	"strings"

	"github.com/tandemcrm/tandem/shared/errs"
)

// A lead's level (客户等级) is one capital letter, A the most promising, or none; a
// pool may set reclaim rules per level (pool_level_rules).

// normalizeLevel reads a level: "", or one letter A-Z (lowercase forgiven).
func normalizeLevel(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" || (len(s) == 1 && s[0] >= 'A' && s[0] <= 'Z') {
		return s, nil
	}
	return "", errs.Invalidf("level", "a level is one letter, A to Z")
}
