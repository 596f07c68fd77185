package marketing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Rule is a segment's definition: and/or/not over conditions on one member's facts.
// Exactly one of And, Or, Not or Field is set. Conditions (Field):
//
//	city, gender, tier        values: any of
//	tier_at_least             values: [tier] (the configured tier order)
//	tag                       values: has any of
//	rfm_r, rfm_f, rfm_m       op (eq, gte, lte), value 1..5
//	points_balance, orders_count, spend_yuan   op, value
//	ordered_within_days       value N: ordered in the last N days (today counts)
//	lapsed_days               value N: ordered before, but not in the last N days
//	category_within_days      category, value N: ordered in the category in the last N days
//	coupon_held, coupon_unused   batch
//	joined_within_days        value N
//	joined_after, joined_before  date (yyyy-MM-dd, Asia/Shanghai, inclusive)
//	matching_audience         merchant: the consumers matching proposes for the merchant
//	near_merchant             merchant, value R: buys within R metres of the merchant (places.go)
type Rule struct {
	And      []Rule   `json:"and,omitempty"`
	Or       []Rule   `json:"or,omitempty"`
	Not      *Rule    `json:"not,omitempty"`
	Field    string   `json:"field,omitempty"`
	Op       string   `json:"op,omitempty"`
	Values   []string `json:"values,omitempty"`
	Value    int64    `json:"value,omitempty"`
	Category string   `json:"category,omitempty"`
	Batch    string   `json:"batch,omitempty"`
	Date     string   `json:"date,omitempty"`
	Merchant string   `json:"merchant,omitempty"`
}

// maxDays bounds the N of day conditions (ten years).
const maxDays = 3650

// ruleError refuses a rule, naming it by its path ("rule.and[1].not").
func ruleError(path, format string, args ...any) error {
	return errs.E(errs.KindInvalid, CodeRuleInvalid, path+": "+fmt.Sprintf(format, args...)).WithField(path)
}

// evaluator evaluates rules on an index it holds read-locked.
type evaluator struct {
	x       *Index
	today   uint64
	tiers   []string
	noCache bool
	// audiences are matching's audiences the rule names, by merchant, fetched
	// before evaluation (audiences.go).
	audiences map[string]*roaring.Bitmap
	// places are the merchants' places near_merchant names, read before evaluation.
	places map[string]place
}

// result is a bitmap and whether the evaluator may change it (false: it is the
// index's own bitmap).
type result struct {
	b     *roaring.Bitmap
	owned bool
}

func (r result) mutable() *roaring.Bitmap {
	if r.owned {
		return r.b
	}
	return r.b.Clone()
}

func (e *evaluator) eval(r *Rule, path string) (result, error) {
	set := 0
	for _, b := range []bool{r.And != nil, r.Or != nil, r.Not != nil, r.Field != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		return result{}, ruleError(path, "a rule has exactly one of and, or, not or field")
	}
	switch {
	case r.And != nil:
		return e.and(r.And, path+".and")
	case r.Or != nil:
		return e.or(r.Or, path+".or")
	case r.Not != nil:
		in, err := e.eval(r.Not, path+".not")
		if err != nil {
			return result{}, err
		}
		return result{roaring.AndNot(e.x.all, in.b), true}, nil
	default:
		return e.leaf(r, path)
	}
}

func (e *evaluator) and(rs []Rule, path string) (result, error) {
	if len(rs) == 0 {
		return result{}, ruleError(path, "and needs at least one rule")
	}
	var pos, neg []result
	for i := range rs {
		p := path + "[" + strconv.Itoa(i) + "]"
		if rs[i].Not != nil && rs[i].Field == "" && rs[i].And == nil && rs[i].Or == nil {
			in, err := e.eval(rs[i].Not, p+".not")
			if err != nil {
				return result{}, err
			}
			neg = append(neg, in)
			continue
		}
		r, err := e.eval(&rs[i], p)
		if err != nil {
			return result{}, err
		}
		pos = append(pos, r)
	}
	var acc *roaring.Bitmap
	if len(pos) == 0 {
		acc = e.x.all.Clone()
	} else {
		// Smallest first: every later AND is then cheap.
		slices.SortFunc(pos, func(a, b result) int {
			return int(int64(a.b.GetCardinality()) - int64(b.b.GetCardinality()))
		})
		// The first AND makes a new bitmap: the smallest operand is never cloned.
		if len(pos) == 1 {
			acc = pos[0].mutable()
		} else {
			acc = roaring.And(pos[0].b, pos[1].b)
		}
		for _, r := range pos[min(2, len(pos)):] {
			acc.And(r.b)
		}
	}
	for _, r := range neg {
		acc.AndNot(r.b)
	}
	return result{acc, true}, nil
}

func (e *evaluator) or(rs []Rule, path string) (result, error) {
	if len(rs) == 0 {
		return result{}, ruleError(path, "or needs at least one rule")
	}
	bs := make([]*roaring.Bitmap, len(rs))
	for i := range rs {
		r, err := e.eval(&rs[i], path+"["+strconv.Itoa(i)+"]")
		if err != nil {
			return result{}, err
		}
		bs[i] = r.b
	}
	return result{roaring.FastOr(bs...), true}, nil
}

// anyOf is the union of the equality bitmaps of values, each of which must be known
// unless known is false.
func (e *evaluator) anyOf(prefix string, values []string, path, what string, mustKnow bool) (result, error) {
	if len(values) == 0 {
		return result{}, ruleError(path, "%s needs at least one value", what)
	}
	var bs []*roaring.Bitmap
	for _, v := range values {
		b, ok := e.x.eq[prefix+v]
		if !ok {
			if mustKnow {
				return result{}, ruleError(path, "unknown %s %q", what, v)
			}
			continue
		}
		bs = append(bs, b)
	}
	switch len(bs) {
	case 0:
		return result{roaring.New(), true}, nil
	case 1:
		return result{bs[0], false}, nil
	}
	return result{roaring.FastOr(bs...), true}, nil
}

func (e *evaluator) numeric(key string, r *Rule, path string, lo, hi int64) (result, error) {
	var op cmpOp
	switch r.Op {
	case "eq":
		op = opEQ
	case "gte", "":
		op = opGE
	case "lte":
		op = opLE
	default:
		return result{}, ruleError(path, "op %q is not one of eq, gte, lte", r.Op)
	}
	if r.Value < lo || r.Value > hi {
		return result{}, ruleError(path, "%s must be between %d and %d", r.Field, lo, hi)
	}
	s, ok := e.x.num[key]
	if !ok {
		return result{roaring.New(), true}, nil
	}
	return result{s.compare(op, uint64(r.Value)), true}, nil
}

// withinDays: the members whose day attribute is in the last n days (today counts).
func (e *evaluator) withinDays(key string, n int64, path string) (result, error) {
	if n < 1 || n > maxDays {
		return result{}, ruleError(path, "days must be between 1 and %d", maxDays)
	}
	s, ok := e.x.num[key]
	if !ok {
		return result{roaring.New(), true}, nil
	}
	from := int64(e.today) - n + 1
	if from < 0 {
		from = 0
	}
	return result{s.compare(opGE, uint64(from)), true}, nil
}

// leaf evaluates a condition, from the index's cache when it was evaluated on the
// same contents and day before. Cached bitmaps are shared: never changed in place.
func (e *evaluator) leaf(r *Rule, path string) (result, error) {
	if e.noCache || r.Field == "matching_audience" {
		return e.evalLeaf(r, path+"("+r.Field+")")
	}
	raw, _ := json.Marshal(r)
	key := strconv.FormatUint(e.today, 10) + string(raw)
	if r.Field == "near_merchant" { // the merchant may move
		key += fmt.Sprint(e.places[r.Merchant])
	}
	if b := e.x.leaves.get(key); b != nil {
		return result{b, false}, nil
	}
	res, err := e.evalLeaf(r, path+"("+r.Field+")")
	if err != nil {
		return res, err
	}
	e.x.leaves.put(key, res.b, e.leafDeps(r))
	return result{res.b, false}, nil
}

// leafDeps are the attribute keys a condition reads (see leafCache).
func (e *evaluator) leafDeps(r *Rule) []string {
	each := func(prefix string, values []string) []string {
		out := make([]string, len(values))
		for i, v := range values {
			out[i] = prefix + v
		}
		return out
	}
	switch r.Field {
	case "city":
		return each(keyCity, r.Values)
	case "gender":
		return each(keyGender, r.Values)
	case "tier", "tier_at_least":
		return []string{keyTier}
	case "tag":
		return each(keyTag, r.Values)
	case "rfm_r":
		return []string{keyRFMR}
	case "rfm_f":
		return []string{keyRFMF}
	case "rfm_m":
		return []string{keyRFMM}
	case "points_balance":
		return []string{numPoints}
	case "orders_count":
		return []string{numOrders}
	case "spend_yuan":
		return []string{numSpendYuan}
	case "ordered_within_days", "lapsed_days":
		return []string{numLastOrderDay}
	case "joined_within_days", "joined_after", "joined_before":
		return []string{numJoinedDay}
	case "category_within_days":
		return []string{numCategory + r.Category}
	case "near_merchant":
		return []string{keyCell}
	case "coupon_held":
		return []string{keyCouponHeld + r.Batch}
	case "coupon_unused":
		return []string{keyCouponUnused + r.Batch}
	}
	return []string{""} // unknown: any change drops it
}

func (e *evaluator) evalLeaf(r *Rule, path string) (result, error) {
	switch r.Field {
	case "city":
		return e.anyOf(keyCity, r.Values, path, "city", false)
	case "gender":
		for _, g := range r.Values {
			if g != "f" && g != "m" && g != "" {
				return result{}, ruleError(path, "gender %q is not f, m or empty", g)
			}
		}
		return e.anyOf(keyGender, r.Values, path, "gender", false)
	case "tier":
		for _, t := range r.Values {
			if !slices.Contains(e.tiers, t) {
				return result{}, ruleError(path, "unknown tier %q", t)
			}
		}
		return e.anyOf(keyTier, r.Values, path, "tier", false)
	case "tier_at_least":
		if len(r.Values) != 1 {
			return result{}, ruleError(path, "tier_at_least takes one tier")
		}
		i := slices.Index(e.tiers, r.Values[0])
		if i < 0 {
			return result{}, ruleError(path, "unknown tier %q", r.Values[0])
		}
		return e.anyOf(keyTier, e.tiers[i:], path, "tier", false)
	case "tag":
		return e.anyOf(keyTag, r.Values, path, "tag", true)
	case "rfm_r", "rfm_f", "rfm_m":
		if r.Value < 1 || r.Value > 5 {
			return result{}, ruleError(path, "an RFM score is between 1 and 5")
		}
		prefix := map[string]string{"rfm_r": keyRFMR, "rfm_f": keyRFMF, "rfm_m": keyRFMM}[r.Field]
		var scores []string
		for s := int64(1); s <= 5; s++ {
			if (r.Op == "eq" && s == r.Value) || ((r.Op == "gte" || r.Op == "") && s >= r.Value) || (r.Op == "lte" && s <= r.Value) {
				scores = append(scores, strconv.FormatInt(s, 10))
			}
		}
		if r.Op != "eq" && r.Op != "gte" && r.Op != "lte" && r.Op != "" {
			return result{}, ruleError(path, "op %q is not one of eq, gte, lte", r.Op)
		}
		return e.anyOf(prefix, scores, path, "score", false)
	case "points_balance":
		return e.numeric(numPoints, r, path, 0, 1<<24-1)
	case "orders_count":
		return e.numeric(numOrders, r, path, 0, 1<<16-1)
	case "spend_yuan":
		return e.numeric(numSpendYuan, r, path, 0, 1<<24-1)
	case "ordered_within_days":
		return e.withinDays(numLastOrderDay, r.Value, path)
	case "joined_within_days":
		return e.withinDays(numJoinedDay, r.Value, path)
	case "category_within_days":
		if r.Category == "" {
			return result{}, ruleError(path, "category is required")
		}
		if _, ok := e.x.num[numCategory+r.Category]; !ok {
			return result{}, ruleError(path, "unknown category %q", r.Category)
		}
		return e.withinDays(numCategory+r.Category, r.Value, path)
	case "lapsed_days":
		in, err := e.withinDays(numLastOrderDay, r.Value, path)
		if err != nil {
			return result{}, err
		}
		ever := e.x.num[numLastOrderDay]
		if ever == nil {
			return in, nil
		}
		return result{roaring.AndNot(ever.exists, in.b), true}, nil
	case "near_merchant":
		return e.nearMerchant(r, path)
	case "matching_audience":
		b, ok := e.audiences[r.Merchant]
		if !ok {
			return result{}, ruleError(path, "merchant is required")
		}
		return result{b, false}, nil
	case "coupon_held", "coupon_unused":
		if r.Batch == "" {
			return result{}, ruleError(path, "batch is required")
		}
		prefix := keyCouponHeld
		if r.Field == "coupon_unused" {
			prefix = keyCouponUnused
		}
		return e.anyOf(prefix, []string{r.Batch}, path, "coupon batch", false)
	case "joined_after", "joined_before":
		d, err := time.ParseInLocation(time.DateOnly, r.Date, shanghai)
		if err != nil {
			return result{}, ruleError(path, "date %q is not yyyy-MM-dd", r.Date)
		}
		s, ok := e.x.num[numJoinedDay]
		if !ok {
			return result{roaring.New(), true}, nil
		}
		if r.Field == "joined_after" {
			return result{s.compare(opGE, dayOf(d)), true}, nil
		}
		return result{s.compare(opLE, dayOf(d)), true}, nil
	case "":
		return result{}, ruleError(path, "field is required")
	default:
		return result{}, ruleError(path, "unknown field %q", r.Field)
	}
}
