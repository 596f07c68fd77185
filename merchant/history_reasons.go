package merchant

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ReasonCode says why the system changed a lead's owner or stage. The histories keep it
// with its parameters beside the English reason the API has always given, so a reader
// shows it in their language without parsing the wording; a reason a person typed has
// no code.
type ReasonCode string

// The system's reasons; the comment names each one's parameters.
const (
	ReasonCreatedInto         ReasonCode = "created_into"         // pool
	ReasonImportedInto        ReasonCode = "imported_into"        // pool
	ReasonClaimedFrom         ReasonCode = "claimed_from"         // pool
	ReasonAssignmentRule      ReasonCode = "assignment_rule"      // rule
	ReasonReclaimDue          ReasonCode = "reclaim_due"          // day (YYYY-MM-DD, Asia/Shanghai)
	ReasonHandOverDisabled    ReasonCode = "rep_disabled"         // —
	ReasonHandOverMoved       ReasonCode = "rep_moved"            // —
	ReasonCreated             ReasonCode = "created"              // — (a lead's first stage)
	ReasonImported            ReasonCode = "imported"             // — (an imported lead's first stage)
	ReasonContract            ReasonCode = "contract"             // contract_no
	ReasonContractDiscount    ReasonCode = "contract_discount"    // contract_no, approver
	ReasonOnboardingSubmitted ReasonCode = "onboarding_submitted" // —
	ReasonOnboardingApproved  ReasonCode = "onboarding_approved"  // —
)

// reasonEnglish is each code's English reason, {param} standing for its parameters:
// the wording the histories' reason field has always carried.
var reasonEnglish = map[ReasonCode]string{
	ReasonCreatedInto:         "created into {pool}",
	ReasonImportedInto:        "imported into {pool}",
	ReasonClaimedFrom:         "claimed from {pool}",
	ReasonAssignmentRule:      "assignment rule {rule}",
	ReasonReclaimDue:          "reclaimed by the pool's rules: due on {day}",
	ReasonHandOverDisabled:    ReasonRepDisabled,
	ReasonHandOverMoved:       ReasonRepMoved,
	ReasonCreated:             "created",
	ReasonImported:            "imported",
	ReasonContract:            "contract {contract_no}",
	ReasonContractDiscount:    "contract {contract_no}; discount approved by {approver}",
	ReasonOnboardingSubmitted: "onboarding submitted",
	ReasonOnboardingApproved:  "onboarding approved and finished at WeChat",
}

// ReasonCodes lists every code the system writes (the console's catalogue test reads it).
func ReasonCodes() []ReasonCode { return slices.Collect(maps.Keys(reasonEnglish)) }

// Reason is why an owner or stage change happened: Text in English, and for the
// system's reasons its Code and Params.
type Reason struct {
	Text   string
	Code   ReasonCode
	Params map[string]string
}

// typedReason is a reason a person gave.
func typedReason(text string) Reason { return Reason{Text: text} }

// systemReason is code's reason with its parameters, given as name, value pairs.
func systemReason(code ReasonCode, params ...string) Reason {
	r := Reason{Code: code}
	r.Text, r.Params = fillReason(reasonEnglish[code], params)
	return r
}

// fillReason is an English reason with its {param}s filled in from name, value pairs,
// and those parameters as a map (nil for none).
func fillReason(english string, params []string) (string, map[string]string) {
	var m map[string]string
	pairs := make([]string, 0, len(params))
	for i := 0; i+1 < len(params); i += 2 {
		if m == nil {
			m = map[string]string{}
		}
		m[params[i]] = params[i+1]
		pairs = append(pairs, "{"+params[i]+"}", params[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(english), m
}

// paramsJSON is r's parameters as the histories' reason_params column keeps them.
func (r Reason) paramsJSON() []byte {
	if len(r.Params) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(r.Params) // a map of strings always marshals
	return b
}

// reasonParams reads a reason_params column.
func reasonParams(b []byte) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("merchant: reason params: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
