package merchant

import phonenum "github.com/tandemcrm/tandem/shared/phone"

// normalizePhone is the one place leads' phones are normalised (create, edit, import,
// dedup): the platform's phone helper, E.164 for mobiles and landlines alike.
func normalizePhone(s string) (string, error) { return phonenum.Normalize("phone", s) }
