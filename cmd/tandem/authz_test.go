package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
)

// The authorization table: every endpoint, as every kind of caller, over scopes. A row
// is one request and what must come back; adding an endpoint's rows is adding lines.
//
//	as:   a demo login, authenticated by its API token ("sh1.rep"), or by its session
//	      cookie with the CSRF token ("sh1.rep/cookie") or without it ("sh1.rep/nocsrf");
//	      "" for no credentials; "revoked", "expired", "malformed" for bad tokens.
//	path: {user:LOGIN}, {unit:NAME}, {token:LOGIN}, {role:KEY}, {lead:REP} (that rep's private lead) are replaced by ids.
//	      {merge:review} is a merge of the demo waiting for review.
//	then: an optional check of the body (sees, lacks, has, code).
var authzTable = []authzRow{
	// Who are you: credentials.
	{"", "GET", "/api/v1/me", "", 401, code("identity.unauthenticated")},
	{"malformed", "GET", "/api/v1/me", "", 401, code("identity.token_malformed")},
	{"revoked", "GET", "/api/v1/me", "", 401, code("identity.token_revoked")},
	{"expired", "GET", "/api/v1/me", "", 401, code("identity.token_expired")},
	{"unknown", "GET", "/api/v1/me", "", 401, code("identity.token_invalid")},
	{"sh1.rep", "GET", "/api/v1/me", "", 200, has("merchant.lead.read", "own")},
	{"sh1.rep/cookie", "GET", "/api/v1/me", "", 200, has("merchant.lead.read", "own")},
	{"sh1.lead", "GET", "/api/v1/me", "", 200, has("merchant.lead.read", "team")},
	{"sh.manager", "GET", "/api/v1/me", "", 200, has("merchant.lead.read", "subtree")},
	{"finance", "GET", "/api/v1/me", "", 200, lacks("merchant.lead.read")}, // finance sees money, not leads
	{"finance", "GET", "/api/v1/me", "", 200, has("billing.refund.create", "all")},
	// Leads (B-CRM): a rep sees their own, a team lead the team, a city manager the city.
	{"sh1.rep", "GET", "/api/v1/merchant/leads/{lead:sh1.rep}", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/merchant/leads/{lead:sh2.rep}", "", 404, code("merchant.lead_not_found")},  // another rep's private lead
	{"sh1.lead", "GET", "/api/v1/merchant/leads/{lead:sh2.rep}", "", 404, code("merchant.lead_not_found")}, // another team
	{"sh.manager", "GET", "/api/v1/merchant/leads/{lead:sh2.rep}", "", 200, nil},
	{"sh.manager", "GET", "/api/v1/merchant/leads/{lead:hz1.rep}", "", 404, code("merchant.lead_not_found")}, // another city
	{"finance", "GET", "/api/v1/merchant/leads", "", 403, nil},                                               // finance sees money, not leads
	{"finance", "GET", "/api/v1/merchant/leads/{lead:sh1.rep}", "", 404, code("merchant.lead_not_found")},
	{"shop.owner", "GET", "/api/v1/merchant/leads/{lead:sh1.rep}", "", 404, code("merchant.lead_not_found")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh2.rep}/claim", "", 404, code("merchant.lead_not_found")}, // not in the pool, not theirs
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh2.rep}/release", `{"reason":"x"}`, 404, code("merchant.lead_not_found")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh2.rep}/check-ins", `{"lat":31.23,"lng":121.47}`, 404, code("merchant.lead_not_found")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh2.rep}/follow-ups", `{"channel":"call","note":"x"}`, 404, code("merchant.lead_not_found")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh2.rep}/stage", `{"stage":"contacted"}`, 404, code("merchant.lead_not_found")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh2.rep}/contract", `{"commission_rate":"6.5%","settlement_cycle":"T+1","starts_on":"2026-12-01","ends_on":"2027-11-30"}`, 404, code("merchant.lead_not_found")},
	{"sh1.lead", "GET", "/api/v1/merchant/leads/{lead:sh2.rep}/contract", "", 404, code("merchant.contract_not_found")},
	{"sh1.lead", "GET", "/api/v1/merchant/leads/0190a6b2-0000-7000-8000-000000000000/contract", "", 404, code("merchant.contract_not_found")}, // the same answer: no probing
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/onboarding/approve", `{"sub_mchid":"1900000109"}`, 403, nil},                   // reviewers approve
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/onboarding/reject", `{"reason":"x"}`, 403, nil},
	// The merchant portal: one's own merchant only.
	{"shop.owner", "GET", "/api/v1/merchant/portal", "", 200, nil},
	{"shop2.owner", "GET", "/api/v1/merchant/portal", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/merchant/portal", "", 403, nil},
	{"admin", "GET", "/api/v1/merchant/portal", "", 404, code("merchant.merchant_not_found")}, // bound to no merchant
	// Onboarding review: the reviewer's queue and applications; reps and finance are refused.
	{"reviewer", "GET", "/api/v1/merchant/onboarding", "", 200, nil},
	{"reviewer", "GET", "/api/v1/merchant/onboarding?state=nonsense", "", 400, code("invalid_input")},
	{"sh1.rep", "GET", "/api/v1/merchant/onboarding", "", 403, nil},
	{"finance", "GET", "/api/v1/merchant/onboarding", "", 403, nil},
	{"reviewer", "GET", "/api/v1/merchant/leads/{lead:sh1.rep}/onboarding", "", 404, nil}, // not yet in onboarding: the reviewer does not see it
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/onboarding/request-change", `{"reason":"x"}`, 403, nil},
	{"reviewer", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/onboarding/request-change", `{"reason":""}`, 400, code("invalid_input")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/onboarding/sync", "", 403, nil},
	{"growth", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/onboarding/sync", "", 403, nil},
	// Visits, documents, contracts, targets, commission and reports (issue 15, part 2).
	{"sh1.rep", "GET", "/api/v1/merchant/calendar?span=week", "", 200, nil},
	{"sh1.lead", "GET", "/api/v1/merchant/calendar?span=month", "", 400, code("invalid_input")},
	{"finance", "GET", "/api/v1/merchant/calendar", "", 403, nil},
	{"sh1.rep", "GET", "/api/v1/merchant/todos", "", 200, nil},
	{"reviewer", "GET", "/api/v1/merchant/todos", "", 403, nil},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh2.rep}/visit-plans", `{"starts_at":"2030-01-01T10:00:00+08:00","minutes":30,"purpose":"x"}`, 404, code("merchant.lead_not_found")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/check-ins", `{"lat":31.23,"lng":121.47,"accuracy_m":500}`, 422, code("merchant.checkin_inaccurate")},
	{"sh1.rep", "GET", "/api/v1/merchant/leads/{lead:sh2.rep}/documents", "", 404, code("merchant.lead_not_found")},
	{"sh2.rep", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/contract/renew", `{"commission_rate":"6%","settlement_cycle":"T+3","starts_on":"2027-01-01","ends_on":"2028-01-01"}`, 400, code("merchant.unknown_cycle")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/contract/terminate", `{"reason":"x"}`, 403, nil}, // city managers terminate
	{"sh.manager", "GET", "/api/v1/merchant/contracts/expiring?days=90", "", 200, nil},
	{"finance", "GET", "/api/v1/merchant/contracts/expiring", "", 403, nil},
	{"sh1.rep", "PUT", "/api/v1/merchant/targets", `{"month":"2026-12","subject":"rep","subject_id":"{user:sh1.rep}","signings":5}`, 403, nil}, // managers set targets
	{"sh1.lead", "PUT", "/api/v1/merchant/targets", `{"month":"2026-12","subject":"rep","subject_id":"{user:sh2.rep}","signings":5}`, 404, code("merchant.rep_not_found")},
	{"sh1.lead", "PUT", "/api/v1/merchant/targets", `{"month":"2026-12","subject":"rep","subject_id":"{user:sh1.rep}","signings":5}`, 200, nil},
	{"sh1.rep", "GET", "/api/v1/merchant/targets/attainment", "", 200, nil},
	{"reviewer", "GET", "/api/v1/merchant/targets/attainment", "", 403, nil},
	{"sh1.rep", "POST", "/api/v1/merchant/commission", `{"month":"2026-11"}`, 403, nil},
	{"hz.lead", "POST", "/api/v1/merchant/commission", `{"month":"2026-11","org_unit_id":"{unit:上海一组 SH Team 1}"}`, 404, code("merchant.team_not_found")},
	{"finance", "GET", "/api/v1/merchant/commission", "", 403, nil},
	{"sh.manager", "GET", "/api/v1/merchant/reports/funnel", "", 200, nil},
	{"sh.manager", "GET", "/api/v1/merchant/reports/breakdown?by=city", "", 200, nil},
	{"sh.manager", "GET", "/api/v1/merchant/reports/visits?days=500", "", 400, code("invalid_input")},
	{"sh1.rep", "GET", "/api/v1/merchant/reports/leaderboard", "", 200, nil},
	{"finance", "GET", "/api/v1/merchant/reports/funnel", "", 403, nil},
	{"shop.owner", "GET", "/api/v1/merchant/reports/pool-health", "", 403, nil},
	{"finance", "GET", "/api/v1/merchant/pool", "", 403, nil},
	{"growth", "GET", "/api/v1/merchant/merchants", "", 403, nil},
	{"shop.owner", "GET", "/api/v1/merchant/merchants/{merchant:A}", "", 200, nil}, // the demo's live shop is identity's demo merchant A
	{"shop2.owner", "GET", "/api/v1/merchant/merchants/{merchant:A}", "", 404, code("merchant.merchant_not_found")},
	// Orders (billing): finance sees money; a merchant's owner sees only their merchant's orders.
	{"finance", "GET", "/api/v1/billing/orders/{order:demo}", "", 200, nil},
	{"live.owner", "GET", "/api/v1/billing/orders/{order:demo}", "", 200, nil},
	{"shop2.owner", "GET", "/api/v1/billing/orders/{order:demo}", "", 404, code("billing.order_not_found")}, // another merchant
	{"sh1.rep", "GET", "/api/v1/billing/orders", "", 403, nil},                                              // sales sees no money
	{"live.owner", "POST", "/api/v1/billing/orders/{order:demo}/refunds", `{"amount":{"amount":"1.00","currency":"CNY"}}`, 403, nil},
	// Members (C-CRM): growth operators; sales and finance see no members.
	{"growth", "GET", "/api/v1/consumer/members", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/consumer/members", "", 403, nil},
	{"finance", "GET", "/api/v1/consumer/members", "", 403, nil},
	{"shop.owner", "GET", "/api/v1/consumer/members", "", 403, nil},
	// Consumers (mini-program tokens): their own orders only; no staff route.
	{"consumer", "GET", "/api/v1/billing/me/orders/{order:demo}", "", 200, nil},
	{"other.consumer", "GET", "/api/v1/billing/me/orders/{order:demo}", "", 404, code("billing.order_not_found")},
	{"other.consumer", "GET", "/api/v1/billing/me/orders", "", 200, count(0)},
	{"consumer", "GET", "/api/v1/consumer/me/points", "", 200, nil},
	{"consumer", "GET", "/api/v1/consumer/me/coupons/claimable", "", 200, nil},
	{"growth", "GET", "/api/v1/consumer/me/coupons/claimable", "", 401, nil},
	// Loyalty (issue 13): growth operators run members, tags and the points program;
	// sales and finance do not; a consumer redeems only their own points.
	{"growth", "GET", "/api/v1/consumer/members/search?q=138", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/consumer/members/search?q=138", "", 403, nil},
	{"finance", "GET", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/360", "", 403, nil},
	{"growth", "GET", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/360", "", 404, code("consumer.member_not_found")},
	{"growth", "GET", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/lots", "", 404, code("consumer.member_not_found")},
	{"sh1.rep", "GET", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/lots", "", 403, nil},
	{"growth", "PUT", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/profile", `{"gender":"male"}`, 404, code("consumer.member_not_found")},
	{"finance", "PUT", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/profile", `{"gender":"male"}`, 403, nil},
	{"growth", "PUT", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/profile", `{"gender":"x"}`, 400, nil},
	{"growth", "POST", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/tags", `{"tag":"VIP"}`, 404, code("consumer.member_not_found")},
	{"sh1.rep", "POST", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/tags", `{"tag":"VIP"}`, 403, nil},
	{"growth", "DELETE", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/tags/VIP", "", 404, code("consumer.tag_not_found")},
	{"finance", "DELETE", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/tags/VIP", "", 403, nil},
	{"growth", "GET", "/api/v1/consumer/tags", "", 200, nil},
	{"live.owner", "GET", "/api/v1/consumer/tags", "", 403, nil},
	{"growth", "POST", "/api/v1/consumer/tags/imports", `{"tag":"VIP","members":["13000000000"]}`, 200, nil},
	{"sh1.rep", "POST", "/api/v1/consumer/tags/imports", `{"tag":"VIP","members":["13000000000"]}`, 403, nil},
	{"growth", "GET", "/api/v1/consumer/points/program", "", 200, nil},
	{"growth", "PUT", "/api/v1/consumer/points/program", `{"points_per_yuan":1,"expiry_months":0,"expiry_rounding":"month","pending_days":7}`, 400, code("consumer.program_invalid")},
	{"finance", "PUT", "/api/v1/consumer/points/program", `{"points_per_yuan":1,"expiry_months":12,"expiry_rounding":"month","pending_days":7}`, 403, nil},
	{"growth", "GET", "/api/v1/consumer/points/liability", "", 200, nil},
	{"finance", "GET", "/api/v1/consumer/points/liability", "", 403, nil},
	{"consumer", "POST", "/api/v1/consumer/me/points/redemptions", `{"points":999999,"key":"authz"}`, 422, code("consumer.points_insufficient")},
	{"consumer", "POST", "/api/v1/consumer/me/points/redemptions", `{"points":1,"key":"authz-order","order_id":"0190a000-0000-7000-8000-000000000001"}`, 422, code("consumer.order_unknown")},
	{"sh1.rep", "POST", "/api/v1/consumer/me/points/redemptions", `{"points":1,"key":"authz"}`, 401, nil}, // a staff token is not a consumer's
	{"other.consumer", "PUT", "/api/v1/billing/me/orders/{order:demo}/coupons", `{"coupon_ids":[]}`, 404, code("billing.order_not_found")},
	{"consumer", "PUT", "/api/v1/billing/me/orders/{order:demo}/coupons", `{"coupon_ids":["0190a6b2-0000-7000-8000-000000000000"]}`, 404, code("consumer.coupon_not_found")}, // not theirs: nothing reserved
	{"sh1.rep", "PUT", "/api/v1/billing/me/orders/{order:demo}/coupons", `{"coupon_ids":[]}`, 401, nil},
	{"growth", "GET", "/api/v1/consumer/tiers", "", 200, nil},
	{"finance", "GET", "/api/v1/consumer/tiers", "", 403, nil},
	{"growth", "PUT", "/api/v1/consumer/tiers", `{"metric":"growth","period_months":12,"downgrade":"one","tiers":[{"level":0,"name":"A","threshold":0,"retain":0,"multiplier_pct":100},{"level":1,"name":"B","threshold":0,"retain":0,"multiplier_pct":100}]}`, 400, code("consumer.tiers_invalid")},
	{"sh1.rep", "PUT", "/api/v1/consumer/tiers", `{}`, 403, nil},
	{"growth", "GET", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/tier", "", 404, nil},
	{"finance", "GET", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/tier", "", 403, nil},
	{"growth", "PUT", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/tier-floor", `{"level":1,"until":"2099-01-01","note":"x"}`, 404, code("consumer.member_not_found")},
	{"sh1.rep", "PUT", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/tier-floor", `{"level":1,"until":"2099-01-01","note":"x"}`, 403, nil},
	{"consumer", "GET", "/api/v1/consumer/me/tier", "", 200, nil},
	{"consumer", "GET", "/api/v1/consumer/me/notices", "", 200, nil},
	{"growth", "GET", "/api/v1/consumer/coupon-templates", "", 200, nil},
	{"finance", "GET", "/api/v1/consumer/coupon-templates", "", 403, nil},
	{"growth", "POST", "/api/v1/consumer/coupon-templates", `{"name":"x","kind":"percent","percent":120,"valid_days":7}`, 400, code("consumer.coupon_template_invalid")},
	{"growth", "POST", "/api/v1/consumer/coupon-templates", `{"name":"x","kind":"amount","amount_fen":100,"valid_days":7,"merchant_ids":["00000000-0000-4000-8000-00000000beef"]}`, 400, code("consumer.coupon_template_invalid")},
	{"sh1.rep", "POST", "/api/v1/consumer/coupon-templates", `{"name":"x","kind":"amount","amount_fen":100,"valid_days":7}`, 403, nil},
	{"growth", "GET", "/api/v1/consumer/coupon-batches", "", 200, nil},
	{"live.owner", "GET", "/api/v1/consumer/coupon-batches", "", 403, nil},
	{"growth", "POST", "/api/v1/consumer/coupon-batches", `{"template_id":"0190a6b2-0000-7000-8000-000000000000","name":"x","stock":10,"per_member":1}`, 404, nil},
	{"finance", "POST", "/api/v1/consumer/coupon-batches", `{}`, 403, nil},
	{"growth", "POST", "/api/v1/consumer/coupon-batches/0190a6b2-0000-7000-8000-000000000000/issues", `{"consumer_id":"0190a6b2-0000-7000-8000-000000000000","key":"k"}`, 404, nil},
	{"sh1.rep", "POST", "/api/v1/consumer/coupon-batches/0190a6b2-0000-7000-8000-000000000000/issues", `{}`, 403, nil},
	{"growth", "GET", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/coupons", "", 200, count(0)},
	{"finance", "GET", "/api/v1/consumer/members/0190a6b2-0000-7000-8000-000000000000/coupons", "", 403, nil},
	{"consumer", "GET", "/api/v1/consumer/me/coupons", "", 200, nil},
	{"consumer", "POST", "/api/v1/consumer/me/coupons", `{"batch_id":"0190a6b2-0000-7000-8000-000000000000"}`, 404, code("consumer.coupon_batch_not_found")},
	{"growth", "GET", "/api/v1/consumer/me/coupons", "", 401, nil},
	{"growth", "GET", "/api/v1/consumer/me/tier", "", 401, nil},
	{"growth", "GET", "/api/v1/consumer/me/notices", "", 401, nil},
	{"consumer", "GET", "/api/v1/billing/orders/{order:demo}", "", 403, code("identity.staff_only")},
	{"consumer", "GET", "/api/v1/merchant/leads", "", 403, code("identity.staff_only")},
	{"consumer", "GET", "/api/v1/me", "", 403, code("identity.staff_only")},
	{"sh1.rep", "GET", "/api/v1/billing/me/orders", "", 401, nil}, // a staff token is not a consumer's
	// Marketing (C-CRM growth): growth operators; sales and finance see no members.
	{"growth", "POST", "/api/v1/marketing/segments/count", `{"field":"tier_at_least","values":["silver"]}`, 200, nil},
	{"growth", "POST", "/api/v1/marketing/segments/count", `{"and":[{"field":"tag","values":["no such tag"]}]}`, 400, code("marketing.rule_invalid")},
	{"growth", "GET", "/api/v1/marketing/segments", "", 200, nil},
	{"growth", "GET", "/api/v1/marketing/segments/vocabulary", "", 200, nil},
	{"growth", "GET", "/api/v1/marketing/index", "", 200, nil},
	{"growth", "GET", "/api/v1/marketing/segments/0190a6b2-0000-7000-8000-000000000000", "", 404, code("marketing.segment_not_found")},
	{"growth", "GET", "/api/v1/marketing/segments/0190a6b2-0000-7000-8000-000000000000/export", "", 404, code("marketing.segment_not_found")},
	{"growth", "GET", "/api/v1/marketing/campaigns", "", 200, nil},
	{"growth", "GET", "/api/v1/marketing/campaigns/0190a6b2-0000-7000-8000-000000000000", "", 404, code("marketing.campaign_not_found")},
	{"growth", "POST", "/api/v1/marketing/campaigns", `{"name":"x","segment_id":"0190a6b2-0000-7000-8000-000000000000","offer":"points","points":10,"unit_cost_fen":10,"budget_fen":0,"schedule":"once"}`, 400, code("marketing.no_budget")},
	{"growth", "POST", "/api/v1/marketing/campaigns/0190a6b2-0000-7000-8000-000000000000/pause", "", 404, code("marketing.campaign_not_found")},
	{"sh1.rep", "POST", "/api/v1/marketing/segments/count", `{"field":"city","values":["上海"]}`, 403, code("identity.forbidden")},
	{"sh1.rep", "GET", "/api/v1/marketing/segments", "", 403, code("identity.forbidden")},
	{"finance", "GET", "/api/v1/marketing/campaigns", "", 403, code("identity.forbidden")},
	{"finance", "POST", "/api/v1/marketing/segments", `{"name":"x","rule":{"field":"city","values":["上海"]}}`, 403, code("identity.forbidden")},
	{"shop.owner", "GET", "/api/v1/marketing/segments/0190a6b2-0000-7000-8000-000000000000/export", "", 403, nil},
	{"sh1.rep", "POST", "/api/v1/marketing/campaigns", `{"name":"x"}`, 403, code("identity.forbidden")},
	// A team's member reader reaches no member, so nothing of marketing: not found, as the member routes answer.
	{"sh1.members", "POST", "/api/v1/marketing/segments/count", `{"field":"tier_at_least","values":["silver"]}`, 404, code("marketing.member_not_found")},
	{"sh1.members", "GET", "/api/v1/marketing/segments", "", 404, code("marketing.segment_not_found")},
	{"sh1.members", "GET", "/api/v1/marketing/segments/vocabulary", "", 404, code("marketing.member_not_found")},
	{"sh1.members", "GET", "/api/v1/marketing/index", "", 404, code("marketing.member_not_found")},
	{"growth", "GET", "/api/v1/marketing/segments/{segment:demo}", "", 200, nil},
	{"sh1.members", "GET", "/api/v1/marketing/segments/{segment:demo}", "", 404, code("marketing.segment_not_found")},
	{"growth", "GET", "/api/v1/marketing/segments/{segment:demo}/export", "", 200, nil},
	{"sh1.members", "GET", "/api/v1/marketing/segments/{segment:demo}/export", "", 404, code("marketing.segment_not_found")},
	{"sh1.members", "GET", "/api/v1/marketing/segments/{segment:demo}/members/{member:demo}", "", 404, code("marketing.segment_not_found")},
	{"sh1.members", "GET", "/api/v1/marketing/campaigns", "", 404, code("marketing.campaign_not_found")},
	{"growth", "GET", "/api/v1/marketing/campaigns/{campaign:demo}", "", 200, nil},
	{"sh1.members", "GET", "/api/v1/marketing/campaigns/{campaign:demo}", "", 404, code("marketing.campaign_not_found")},
	{"sh1.members", "GET", "/api/v1/marketing/referral-settings", "", 404, code("marketing.member_not_found")},
	{"", "GET", "/api/v1/marketing/segments", "", 401, code("identity.unauthenticated")},
	{"consumer", "GET", "/api/v1/marketing/segments", "", 403, code("identity.staff_only")},
	{"consumer", "GET", "/api/v1/marketing/me/referral-code", "", 200, nil},
	{"consumer", "POST", "/api/v1/marketing/me/referral", `{"code":"NOSUCH22"}`, 400, code("marketing.referral_code_not_found")},
	{"growth", "GET", "/api/v1/marketing/referral-settings", "", 200, nil},
	{"growth", "PUT", "/api/v1/marketing/referral-settings", `{"referrer_points":200,"invitee_points":100,"window_days":0}`, 400, code("marketing.referral_settings_invalid")},
	{"finance", "PUT", "/api/v1/marketing/referral-settings", `{"referrer_points":1,"invitee_points":1,"window_days":7}`, 403, code("identity.forbidden")},
	{"sh1.rep", "GET", "/api/v1/marketing/referral-settings", "", 403, code("identity.forbidden")},
	{"sh1.rep", "GET", "/api/v1/marketing/me/referral-code", "", 401, nil}, // a staff token is not a consumer's
	// Reconciliation: finance (scope all) reads runs; nobody without recon.run.read does.
	// Invitations: public, the token is the credential; an unknown one is 404 whoever asks.
	{"", "POST", "/api/v1/invitations/accept", `{"token":"tdi_nope","password":"Abcdefgh-12"}`, 404, code("identity.invitation_invalid")},
	{"sh1.rep", "POST", "/api/v1/invitations/accept", `{"token":"tdi_nope","password":"Abcdefgh-12"}`, 404, code("identity.invitation_invalid")},
	// Approvals (shared/approval): everyone signed in has a to-do box; deciding needs the
	// approver permission in scope (403, nothing changes); unknown ids are 404.
	{"sh1.rep", "GET", "/api/v1/approvals", "", 200, nil},
	{"sh.manager", "GET", "/api/v1/approvals?box=mine", "", 200, nil},
	{"sh.manager", "GET", "/api/v1/approvals?box=nonsense", "", 400, code("invalid_input")},
	{"", "GET", "/api/v1/approvals", "", 401, code("identity.unauthenticated")},
	{"sh1.rep", "GET", "/api/v1/approvals/0190a6b2-0000-7000-8000-000000000000", "", 404, code("approval.request_not_found")},
	{"sh.manager", "POST", "/api/v1/approvals/0190a6b2-0000-7000-8000-000000000000/approve", `{"comment":"ok"}`, 404, code("approval.request_not_found")},
	{"sh.manager", "POST", "/api/v1/approvals/0190a6b2-0000-7000-8000-000000000000/reject", `{}`, 400, code("approval.comment_required")},
	{"shop.owner", "POST", "/api/v1/approvals/0190a6b2-0000-7000-8000-000000000000/approve", `{}`, 404, code("approval.request_not_found")},
	{"sh.manager", "GET", "/api/v1/approvals/{approval:demo}", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/approvals/{approval:demo}", "", 200, nil},                                                     // its requester
	{"hz.lead", "GET", "/api/v1/approvals/{approval:demo}", "", 404, code("approval.request_not_found")},                      // another city
	{"hz.lead", "POST", "/api/v1/approvals/{approval:demo}/approve", `{"comment":"ok"}`, 403, code("approval.not_approver")},  // outside the scope
	{"reviewer", "POST", "/api/v1/approvals/{approval:demo}/approve", `{"comment":"ok"}`, 403, code("approval.not_approver")}, // no approver permission
	{"sh1.rep", "POST", "/api/v1/approvals/{approval:demo}/approve", `{"comment":"ok"}`, 403, code("approval.own_request")},   // one's own
	{"sh1.rep/cookie", "POST", "/api/v1/approvals/{approval:demo}/reject", `{"comment":"no"}`, 403, code("approval.own_request")},
	{"sh.manager", "GET", "/api/v1/approvals/{approval:demo}", "", 200, stateIs("pending")}, // the refusals changed nothing
	{"finance", "GET", "/api/v1/reconciliation/runs", "", 200, nil},
	{"finance", "GET", "/api/v1/reconciliation/runs?since=2025-13-01", "", 400, code("recon.invalid_date")},
	{"finance", "GET", "/api/v1/reconciliation/runs/0190a6b2-0000-7000-8000-000000000000", "", 404, code("recon.run_not_found")},
	{"sh1.rep", "GET", "/api/v1/reconciliation/runs", "", 403, code("identity.forbidden")},
	{"sh1.rep", "GET", "/api/v1/reconciliation/runs/0190a6b2-0000-7000-8000-000000000000", "", 403, code("identity.forbidden")},
	{"shop.owner", "GET", "/api/v1/reconciliation/runs", "", 403, code("identity.forbidden")},
	{"growth", "GET", "/api/v1/reconciliation/runs", "", 403, code("identity.forbidden")},
	{"", "GET", "/api/v1/reconciliation/runs", "", 401, code("identity.unauthenticated")},
	// Matching: staff who read members see a consumer's recommendations (an unknown one gets the
	// cold-start list) and a merchant's audience; nobody else does.
	{"growth", "GET", "/api/v1/matching/consumers/0190a6b2-0000-7000-8000-000000000000/recommendations", "", 200, nil},
	{"growth", "GET", "/api/v1/matching/consumers/not-an-id/recommendations", "", 400, code("invalid_input")},
	{"growth", "GET", "/api/v1/matching/consumers/0190a6b2-0000-7000-8000-000000000000/recommendations?limit=0", "", 400, code("invalid_input")},
	{"sh1.rep", "GET", "/api/v1/matching/consumers/0190a6b2-0000-7000-8000-000000000000/recommendations", "", 403, code("identity.forbidden")},
	{"finance", "GET", "/api/v1/matching/consumers/0190a6b2-0000-7000-8000-000000000000/recommendations", "", 403, code("identity.forbidden")},
	{"consumer", "GET", "/api/v1/matching/consumers/0190a6b2-0000-7000-8000-000000000000/recommendations", "", 403, code("identity.staff_only")},
	{"", "GET", "/api/v1/matching/consumers/0190a6b2-0000-7000-8000-000000000000/recommendations", "", 401, code("identity.unauthenticated")},
	{"growth", "GET", "/api/v1/matching/merchants/0190a6b2-0000-7000-8000-000000000000/audience", "", 404, code("matching.merchant_not_found")},
	{"growth", "GET", "/api/v1/matching/merchants/not-an-id/audience", "", 404, code("matching.merchant_not_found")},
	{"shop.owner", "GET", "/api/v1/matching/merchants/0190a6b2-0000-7000-8000-000000000000/audience", "", 403, code("identity.forbidden")},
	{"sh1.rep", "GET", "/api/v1/matching/merchants/0190a6b2-0000-7000-8000-000000000000/audience", "", 403, code("identity.forbidden")},
	{"consumer", "GET", "/api/v1/consumer/me/recommendations", "", 200, nil},
	{"growth", "GET", "/api/v1/matching/merges?state=review", "", 200, nil},
	{"growth", "GET", "/api/v1/matching/merges?state=nope", "", 400, code("matching.invalid_filter")},
	{"finance", "GET", "/api/v1/matching/merges", "", 403, code("identity.forbidden")},
	{"growth", "GET", "/api/v1/matching/merges/0190a6b2-0000-7000-8000-000000000000", "", 404, code("matching.merge_not_found")},
	{"growth", "POST", "/api/v1/matching/merges/0190a6b2-0000-7000-8000-000000000000/approve", "", 404, code("matching.merge_not_found")},
	{"growth", "POST", "/api/v1/matching/merges/0190a6b2-0000-7000-8000-000000000000/reject", "", 404, code("matching.merge_not_found")},
	{"growth", "POST", "/api/v1/matching/merges/0190a6b2-0000-7000-8000-000000000000/undo", "", 404, code("matching.merge_not_found")},
	{"sh1.rep", "POST", "/api/v1/matching/merges/0190a6b2-0000-7000-8000-000000000000/undo", "", 403, code("identity.forbidden")},
	{"finance", "POST", "/api/v1/matching/merges/0190a6b2-0000-7000-8000-000000000000/approve", "", 403, code("identity.forbidden")},
	// A team lead who also holds the member permissions at team scope (a custom role): members
	// belong to no team, so merges are not found for them, as members are.
	{"growth", "GET", "/api/v1/matching/merges/{merge:review}", "", 200, nil},
	{"sh1.members", "GET", "/api/v1/matching/merges?state=review", "", 404, code("matching.merge_not_found")},
	{"sh1.members", "GET", "/api/v1/matching/merges/{merge:review}", "", 404, code("matching.merge_not_found")},
	{"sh1.members", "POST", "/api/v1/matching/merges/{merge:review}/reject", "", 404, code("matching.merge_not_found")},
	{"sh1.members", "GET", "/api/v1/consumer/members", "", 404, code("consumer.member_not_found")},
	{"growth", "GET", "/api/v1/matching/consumers/0190a6b2-0000-7000-8000-000000000000/shops", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/matching/consumers/0190a6b2-0000-7000-8000-000000000000/shops", "", 403, code("identity.forbidden")},
	{"growth", "GET", "/api/v1/matching/consumers/not-an-id/shops", "", 404, code("matching.consumer_not_found")},
	{"reviewer", "GET", "/api/v1/matching/shop-matches?state=review", "", 200, nil},
	{"reviewer", "GET", "/api/v1/matching/shop-matches?state=nope", "", 400, code("matching.invalid_filter")},
	{"finance", "GET", "/api/v1/matching/shop-matches", "", 403, code("identity.forbidden")},
	{"reviewer", "POST", "/api/v1/matching/shop-matches/0190a6b2-0000-7000-8000-000000000000/link", "", 404, code("matching.shop_match_not_found")},
	{"reviewer", "POST", "/api/v1/matching/shop-matches/0190a6b2-0000-7000-8000-000000000000/reject", "", 404, code("matching.shop_match_not_found")},
	{"growth", "POST", "/api/v1/matching/shop-matches/0190a6b2-0000-7000-8000-000000000000/link", "", 403, code("identity.forbidden")},
	{"sh1.rep", "GET", "/api/v1/consumer/me/recommendations", "", 401, nil}, // a staff token is not a consumer's
	// The exceptions queue (issue 14): finance reads and works it; sales, merchants and growth do not.
	{"finance", "GET", "/api/v1/reconciliation/queue?state=open", "", 200, nil},
	{"finance", "GET", "/api/v1/reconciliation/queue?state=shut", "", 400, code("recon.invalid_filter")},
	{"finance", "GET", "/api/v1/reconciliation/queue/0190a6b2-0000-7000-8000-000000000000", "", 404, code("recon.queue_item_not_found")},
	{"finance", "POST", "/api/v1/reconciliation/queue/0190a6b2-0000-7000-8000-000000000000/resolve", `{"resolution":"ok"}`, 404, code("recon.queue_item_not_found")},
	{"finance", "POST", "/api/v1/reconciliation/queue/0190a6b2-0000-7000-8000-000000000000/notes", `{"note":""}`, 400, nil},
	{"sh1.rep", "GET", "/api/v1/reconciliation/queue", "", 403, code("identity.forbidden")},
	{"shop.owner", "POST", "/api/v1/reconciliation/queue/0190a6b2-0000-7000-8000-000000000000/assign", `{"assignee":null}`, 403, nil},
	{"growth", "POST", "/api/v1/reconciliation/queue/0190a6b2-0000-7000-8000-000000000000/refund", "", 403, nil},
	{"", "GET", "/api/v1/reconciliation/queue", "", 401, code("identity.unauthenticated")},
	// Statements: finance reads and issues any merchant's; an owner reads only their own.
	{"finance", "GET", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03-14", "", 200, nil},
	{"finance", "GET", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03", "", 400, code("billing.invalid_period")},
	{"live.owner", "GET", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03-14", "", 200, nil},
	{"shop2.owner", "GET", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03-14", "", 404, code("billing.statement_not_found")},
	{"live.owner", "POST", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03-14/issue", "", 403, nil},
	{"sh1.rep", "GET", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03-14", "", 403, nil},
	{"finance", "POST", "/api/v1/billing/statements/0190a6b2-0000-7000-8000-000000000000/paid", `{"reference":"CMB-1"}`, 404, code("billing.statement_not_found")},
	// Refunds and issued statements listed, a statement's lines, adjustments (finance's).
	{"finance", "GET", "/api/v1/billing/refunds", "", 200, nil},
	{"live.owner", "GET", "/api/v1/billing/refunds", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/billing/refunds", "", 403, nil},
	{"finance", "GET", "/api/v1/billing/statements", "", 200, nil},
	{"live.owner", "GET", "/api/v1/billing/statements", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/billing/statements", "", 403, nil},
	{"finance", "GET", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03-14/lines", "", 200, nil},
	{"live.owner", "GET", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03-14/lines", "", 200, nil},
	{"shop2.owner", "GET", "/api/v1/billing/merchants/{merchant:live}/statements/2025-03-14/lines", "", 404, code("billing.statement_not_found")},
	{"live.owner", "POST", "/api/v1/billing/merchants/{merchant:live}/adjustments", `{"amount":"12.50","reason":"补贴"}`, 403, nil},
	{"finance", "POST", "/api/v1/billing/merchants/{merchant:live}/adjustments", `{"amount":"-0.01","reason":"物料费"}`, 201, nil},
	{"finance", "POST", "/api/v1/billing/merchants/{merchant:live}/adjustments", `{"amount":"0","reason":"x"}`, 400, nil},
	{"live.owner", "POST", "/api/v1/billing/statements/0190a6b2-0000-7000-8000-000000000000/paid", `{"reference":"CMB-1"}`, 403, nil},
	// A second payment is given back by finance only.
	{"finance", "POST", "/api/v1/billing/exceptions/0190a6b2-0000-7000-8000-000000000000/refund", "", 404, code("billing.exception_not_found")},
	{"live.owner", "POST", "/api/v1/billing/exceptions/0190a6b2-0000-7000-8000-000000000000/refund", "", 403, nil},
	{"growth", "GET", "/api/v1/me", "", 200, lacks("merchant.lead.read")},
	{"reviewer", "GET", "/api/v1/me", "", 200, has("merchant.onboarding.review", "subtree")},
	{"shop.owner", "GET", "/api/v1/me", "", 200, has("merchant.portal.read", "merchant")},
	{"shop.owner", "GET", "/api/v1/me", "", 200, lacks("merchant.lead.read")},
	// Users: scoped by the org subtree (staff) or the merchant (merchant users).
	{"admin", "GET", "/api/v1/users", "", 200, sees("admin", "sh.manager", "sh1.lead", "sh1.members", "sh1.rep", "sh2.rep", "hz.lead", "hz1.rep", "reviewer", "growth", "finance", "shop.owner", "shop.staff", "shop2.owner")}, // the live demo merchant's owner is shop.owner
	{"sh.manager", "GET", "/api/v1/users", "", 200, sees("sh.manager", "sh1.lead", "sh1.members", "sh1.rep", "sh2.rep", "reviewer")},
	{"sh1.lead", "GET", "/api/v1/users", "", 200, sees("sh1.lead", "sh1.members", "sh1.rep")},
	{"hz.lead", "GET", "/api/v1/users", "", 200, sees("hz.lead", "hz1.rep")},
	{"shop.owner", "GET", "/api/v1/users", "", 200, sees("shop.owner", "shop.staff")},
	{"sh1.rep", "GET", "/api/v1/users", "", 403, code("identity.forbidden")},
	{"finance", "GET", "/api/v1/users", "", 403, code("identity.forbidden")},
	{"sh1.lead", "GET", "/api/v1/users/{user:sh1.rep}", "", 200, is("phone", "138****5678")}, // masked: no identity.pii.read
	{"sh.manager", "GET", "/api/v1/users/{user:sh1.rep}", "", 200, is("phone", "+8613812345678")},
	{"sh1.lead", "GET", "/api/v1/users/{user:sh2.rep}", "", 404, code("identity.user_not_found")}, // another team
	{"sh1.lead", "GET", "/api/v1/users/{user:hz1.rep}", "", 404, code("identity.user_not_found")}, // another city
	{"sh.manager", "GET", "/api/v1/users/{user:hz1.rep}", "", 404, code("identity.user_not_found")},
	{"shop.owner", "GET", "/api/v1/users/{user:shop2.owner}", "", 404, code("identity.user_not_found")}, // another merchant
	{"shop.owner", "GET", "/api/v1/users/{user:shop.staff}", "", 200, nil},
	{"admin", "GET", "/api/v1/users/0190a6b2-0000-7000-8000-000000000000", "", 404, code("identity.user_not_found")},
	{"admin", "GET", "/api/v1/users/not-an-id", "", 404, code("identity.user_not_found")},
	{"sh.manager", "PATCH", "/api/v1/users/{user:hz1.rep}", `{"display_name":"x"}`, 404, code("identity.user_not_found")},
	{"sh.manager", "PATCH", "/api/v1/users/{user:sh2.rep}", `{"org_unit_id":"{unit:杭州一组 HZ Team 1}"}`, 404, code("identity.org_unit_not_found")},
	// Granting: never oneself, never more than one holds.
	{"sh.manager", "PUT", "/api/v1/users/{user:sh.manager}/roles", `{"roles":["admin"]}`, 403, code("identity.self_grant")},
	{"sh.manager", "PUT", "/api/v1/users/{user:sh1.rep}/roles", `{"roles":["admin"]}`, 403, code("identity.grant_forbidden")},
	{"sh.manager", "PUT", "/api/v1/users/{user:sh1.rep}/roles", `{"roles":["finance"]}`, 403, code("identity.grant_forbidden")},
	{"sh.manager", "PUT", "/api/v1/users/{user:hz1.rep}/roles", `{"roles":["sales_rep"]}`, 404, code("identity.user_not_found")},
	{"shop.owner", "PUT", "/api/v1/users/{user:shop.staff}/roles", `{"roles":["sales_rep"]}`, 422, code("identity.role_kind")},
	{"sh.manager", "POST", "/api/v1/users", `{"login":"sh.new","display_name":"N","org_unit_id":"{unit:杭州一组 HZ Team 1}","password":"long-enough-1","roles":["sales_rep"]}`, 404, code("identity.org_unit_not_found")},
	{"sh.manager", "POST", "/api/v1/users", `{"login":"sh.new","display_name":"N","org_unit_id":"{unit:上海一组 SH Team 1}","password":"long-enough-1","roles":["sales_rep"]}`, 201, nil},
	{"shop.owner", "POST", "/api/v1/users", `{"login":"shop.new","display_name":"N","kind":"merchant","merchant_id":"{merchant:B}","password":"long-enough-1","roles":["merchant_staff"]}`, 404, code("merchant_not_found")},
	{"shop.owner", "POST", "/api/v1/users", `{"login":"shop.new","display_name":"N","kind":"merchant","password":"long-enough-1","roles":["merchant_staff"]}`, 201, nil},
	// Cookie sessions need the CSRF token on unsafe requests.
	{"admin/nocsrf", "PATCH", "/api/v1/users/{user:sh1.rep}", `{"display_name":"x"}`, 403, code("identity.csrf_invalid")},
	{"admin/cookie", "PATCH", "/api/v1/users/{user:sh1.rep}", `{"display_name":"张销售"}`, 200, nil},
	// Org tree.
	{"admin", "GET", "/api/v1/org-units", "", 200, count(7)},
	{"sh.manager", "GET", "/api/v1/org-units", "", 200, count(3)},
	{"sh1.lead", "GET", "/api/v1/org-units", "", 200, count(1)},
	{"sh1.rep", "GET", "/api/v1/org-units", "", 403, nil},
	{"sh.manager", "POST", "/api/v1/org-units", `{"parent_id":"{unit:上海 Shanghai}","kind":"team","name":"三组"}`, 403, nil},
	{"admin", "POST", "/api/v1/org-units/{unit:上海二组 SH Team 2}/move", `{"parent_id":"{unit:华东 East China}"}`, 422, code("identity.org_kind")},
	// Roles.
	{"admin", "GET", "/api/v1/roles", "", 200, count(10)}, // the demo's 9 and sh1.members' members_team,
	{"sh.manager", "GET", "/api/v1/roles", "", 200, count(10)},
	{"sh1.rep", "GET", "/api/v1/roles", "", 403, nil},
	{"sh.manager", "POST", "/api/v1/roles", `{"key":"mini","name":"Mini","scope":"own","permissions":["merchant.lead.read"]}`, 403, nil},
	{"admin", "PUT", "/api/v1/roles/{role:admin}", `{"name":"x","scope":"own","permissions":[]}`, 422, code("identity.role_locked")},
	{"admin", "POST", "/api/v1/roles", `{"key":"auditor","name":"Auditor","scope":"all","permissions":["audit.log.read"]}`, 201, nil},
	// Tokens: one's own; managers of tokens see those in scope.
	{"sh1.rep", "GET", "/api/v1/tokens", "", 200, owners("sh1.rep")},
	{"admin", "GET", "/api/v1/tokens", "", 200, count(16)},
	{"sh2.rep", "DELETE", "/api/v1/tokens/{token:sh1.rep}", "", 404, code("identity.token_not_found")}, // a rep cannot touch another team's rows
	{"shop.owner", "DELETE", "/api/v1/tokens/{token:shop2.owner}", "", 404, code("identity.token_not_found")},
	{"sh1.rep", "POST", "/api/v1/tokens", `{"name":"phone","ttl_days":30}`, 201, nil},
	// The audit log: by scope of audit.log.read.
	{"admin", "GET", "/api/v1/audit?action=identity.user.create", "", 200, atLeast(13)},
	{"sh1.lead", "GET", "/api/v1/audit?action=auth.login", "", 200, actors("sh1.rep")}, // admin signed in too: not their team
	{"admin", "GET", "/api/v1/audit?action=auth.login", "", 200, actors("admin", "sh1.rep", "live.owner")},
	{"finance", "GET", "/api/v1/audit/export", "", 200, nil},
	{"sh1.lead", "GET", "/api/v1/audit/export", "", 403, nil},
	{"sh1.rep", "GET", "/api/v1/audit", "", 403, nil},
	{"growth", "GET", "/api/v1/audit", "", 403, nil},
	// The queue dashboard: admins only.
	{"admin", "GET", "/admin/queues/api/queues", "", 200, nil},
	{"sh.manager", "GET", "/admin/queues/api/queues", "", 403, nil},
	{"", "GET", "/admin/queues", "", 401, nil},
	// Pools (issue 12): members see and claim, admins set rules; {pool:REP} is the pool of that rep's unit.
	{"sh1.rep", "GET", "/api/v1/merchant/pools", "", 200, nil},
	{"finance", "GET", "/api/v1/merchant/pools", "", 403, nil},
	{"shop.owner", "GET", "/api/v1/merchant/pools", "", 403, nil},
	{"sh1.rep", "GET", "/api/v1/merchant/pools/{pool:sh1.rep}", "", 200, nil},
	{"sh2.rep", "GET", "/api/v1/merchant/pools/{pool:sh1.rep}", "", 404, code("merchant.pool_not_found")}, // another team's pool
	{"hz1.rep", "GET", "/api/v1/merchant/pools/{pool:sh1.rep}", "", 404, code("merchant.pool_not_found")}, // another city's
	{"sh.manager", "GET", "/api/v1/merchant/pools/{pool:sh1.rep}", "", 200, nil},
	{"finance", "GET", "/api/v1/merchant/pools/{pool:sh1.rep}", "", 403, nil},
	{"sh1.rep", "PUT", "/api/v1/merchant/pools/{pool:sh1.rep}", `{"name":"SH1","holding_cap":60}`, 403, code("merchant.not_pool_admin")},
	{"hz.lead", "PUT", "/api/v1/merchant/pools/{pool:sh1.rep}", `{"name":"SH1","holding_cap":60}`, 404, code("merchant.pool_not_found")},
	{"sh1.lead", "PUT", "/api/v1/merchant/pools/{pool:sh1.rep}", `{"name":"SH1","holding_cap":60,"daily_quota":30,"cooldown_days":7}`, 200, nil},
	{"sh.manager", "PUT", "/api/v1/merchant/pools/{pool:sh1.rep}", `{"name":"SH1","holding_cap":0}`, 400, code("invalid_input")},
	{"sh1.rep", "GET", "/api/v1/merchant/pools/{pool:sh1.rep}/members", "", 200, nil},
	{"hz1.rep", "GET", "/api/v1/merchant/pools/{pool:sh1.rep}/members", "", 404, nil},
	{"sh1.rep", "PUT", "/api/v1/merchant/pools/{pool:sh1.rep}/members/{user:sh2.rep}", `{"role":"member"}`, 403, nil},
	{"hz.lead", "PUT", "/api/v1/merchant/pools/{pool:sh1.rep}/members/{user:sh2.rep}", `{"role":"member"}`, 404, nil},
	{"sh.manager", "PUT", "/api/v1/merchant/pools/{pool:sh1.rep}/members/{user:sh2.rep}", `{"role":"member"}`, 200, nil},
	{"sh.manager", "PUT", "/api/v1/merchant/pools/{pool:sh1.rep}/members/{user:sh2.rep}", `{"role":""}`, 200, nil},
	// Assignment: merchant.lead.assign within scope; each lead answers on its own.
	{"sh1.rep", "POST", "/api/v1/merchant/assignments", `{"lead_ids":["{lead:sh1.rep}"],"to":"{user:sh1.rep}","reason":"x"}`, 403, nil},
	{"finance", "POST", "/api/v1/merchant/assignments", `{"lead_ids":["{lead:sh1.rep}"],"to":"{user:sh1.rep}","reason":"x"}`, 403, nil},
	{"shop.owner", "POST", "/api/v1/merchant/assignments", `{"lead_ids":["{lead:sh1.rep}"],"to":"{user:sh1.rep}","reason":"x"}`, 403, nil},
	{"hz.lead", "POST", "/api/v1/merchant/assignments", `{"lead_ids":["{lead:sh1.rep}"],"to":"{user:hz1.rep}","reason":"x"}`, 200, outcome("merchant.lead_not_found")},
	{"sh1.lead", "POST", "/api/v1/merchant/assignments", `{"lead_ids":["{lead:sh1.rep}"],"to":"{user:sh2.rep}","reason":"x"}`, 422, code("merchant.assignee_unavailable")},
	{"sh.manager", "POST", "/api/v1/merchant/assignments", `{"lead_ids":["{lead:sh1.rep}"],"to":"{user:sh1.rep}","reason":"x"}`, 200, outcome("merchant.already_held")},
	{"sh1.rep", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/lock", `{"locked":true,"reason":"x"}`, 403, code("merchant.not_pool_admin")},
	{"hz.lead", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/lock", `{"locked":true,"reason":"x"}`, 404, nil},
	{"finance", "POST", "/api/v1/merchant/leads/{lead:sh1.rep}/lock", `{"locked":true,"reason":"x"}`, 404, nil},
	{"sh1.rep", "POST", "/api/v1/merchant/reps/{user:sh1.rep}/hand-over", `{"reason":"x"}`, 403, nil},
	{"hz.lead", "POST", "/api/v1/merchant/reps/{user:sh1.rep}/hand-over", `{"reason":"x"}`, 404, nil},
	{"finance", "POST", "/api/v1/merchant/reps/{user:sh1.rep}/hand-over", `{"reason":"x"}`, 403, nil},
	{"sh1.rep", "GET", "/api/v1/merchant/reminders", "", 200, nil},
	{"finance", "GET", "/api/v1/merchant/reminders", "", 403, nil},
	{"sh1.rep", "PATCH", "/api/v1/merchant/leads/{lead:sh1.rep}", `{"address":"人民广场1号"}`, 200, nil},
	{"sh2.rep", "PATCH", "/api/v1/merchant/leads/{lead:sh1.rep}", `{"address":"x"}`, 404, code("merchant.lead_not_found")}, // same city, other team
	{"hz1.rep", "PATCH", "/api/v1/merchant/leads/{lead:sh1.rep}", `{"address":"x"}`, 404, code("merchant.lead_not_found")},
	{"sh1.lead", "PATCH", "/api/v1/merchant/leads/{lead:sh1.rep}", `{"address":"人民广场2号"}`, 200, nil},
	{"finance", "PATCH", "/api/v1/merchant/leads/{lead:sh1.rep}", `{"address":"x"}`, 404, nil},
	{"shop.owner", "PATCH", "/api/v1/merchant/leads/{lead:sh1.rep}", `{"address":"x"}`, 404, nil},
	{"sh1.lead", "GET", "/api/v1/merchant/leads/{lead:sh1.rep}/timeline", "", 200, nil},
	{"sh.manager", "GET", "/api/v1/merchant/leads/{lead:sh1.rep}/timeline", "", 200, nil},
	{"hz.lead", "GET", "/api/v1/merchant/leads/{lead:sh1.rep}/timeline", "", 404, nil},
	{"finance", "GET", "/api/v1/merchant/leads/{lead:sh1.rep}/timeline", "", 404, nil},
	{"hz1.rep", "GET", "/api/v1/merchant/duplicates?phone=13900000000", "", 200, nil}, // who holds it, across scopes
	{"finance", "GET", "/api/v1/merchant/duplicates?phone=13900000000", "", 403, nil},
	{"shop.owner", "GET", "/api/v1/merchant/duplicates?phone=13900000000", "", 403, nil},
	{"finance", "POST", "/api/v1/merchant/imports", `{}`, 403, nil},
	{"shop.owner", "POST", "/api/v1/merchant/imports", `{}`, 403, nil},
	{"sh1.rep", "POST", "/api/v1/merchant/imports", `{}`, 400, code("invalid_input")}, // a file is a multipart upload
	{"sh1.lead", "GET", "/api/v1/merchant/imports/0190a6b2-0000-7000-8000-000000000000", "", 404, code("merchant.import_not_found")},
	{"finance", "GET", "/api/v1/merchant/imports/0190a6b2-0000-7000-8000-000000000000", "", 403, nil},
	// issue 12, second part: imports list, export, saved views, assignment rules
	{"sh1.rep", "GET", "/api/v1/merchant/imports", "", 200, nil},
	{"finance", "GET", "/api/v1/merchant/imports", "", 403, nil},
	{"shop.owner", "GET", "/api/v1/merchant/imports", "", 403, nil},
	{"sh1.rep", "GET", "/api/v1/merchant/leads/export?format=xlsx", "", 200, nil},
	{"hz1.rep", "GET", "/api/v1/merchant/leads/export", "", 200, nil}, // their own scope only
	{"sh1.lead", "GET", "/api/v1/merchant/leads/export?format=pdf", "", 400, code("invalid_input")},
	{"finance", "GET", "/api/v1/merchant/leads/export", "", 403, nil},
	{"shop.owner", "GET", "/api/v1/merchant/leads/export", "", 403, nil},
	{"sh1.rep", "POST", "/api/v1/merchant/views", `{"name":"mine","filters":{"held":true,"sort":"-created"}}`, 200, nil},
	{"sh1.rep", "POST", "/api/v1/merchant/views", `{"name":"bad","filters":{"sort":"phone"}}`, 400, code("invalid_input")},
	{"sh1.rep", "GET", "/api/v1/merchant/views", "", 200, nil},
	{"sh1.rep", "DELETE", "/api/v1/merchant/views/0190a6b2-0000-7000-8000-000000000000", "", 404, code("merchant.view_not_found")},
	{"finance", "POST", "/api/v1/merchant/views", `{"name":"x"}`, 403, nil},
	{"shop.owner", "GET", "/api/v1/merchant/views", "", 403, nil},
	{"sh.manager", "POST", "/api/v1/merchant/assignment-rules", `{"name":"测试区","districts":["测试区"],"team_unit_id":"{unit:上海二组 SH Team 2}","method":"load","enabled":true}`, 201, nil},
	{"sh.manager", "POST", "/api/v1/merchant/assignment-rules", `{"name":"x","districts":["测试区"],"team_unit_id":"{unit:杭州一组 HZ Team 1}","method":"load"}`, 400, code("invalid_input")},
	{"sh1.lead", "POST", "/api/v1/merchant/assignment-rules", `{"name":"x","districts":["测试区"],"team_unit_id":"{unit:上海二组 SH Team 2}","method":"load"}`, 400, code("invalid_input")}, // not their team
	{"sh.manager", "GET", "/api/v1/merchant/assignment-rules", "", 200, nil},
	{"sh1.lead", "GET", "/api/v1/merchant/assignment-rules", "", 200, nil},
	{"sh1.rep", "GET", "/api/v1/merchant/assignment-rules", "", 403, nil},
	{"hz1.rep", "POST", "/api/v1/merchant/assignment-rules", `{}`, 403, nil},
	{"hz.lead", "GET", "/api/v1/merchant/assignment-rules/0190a6b2-0000-7000-8000-000000000000", "", 404, code("merchant.assignment_rule_not_found")},
	{"finance", "GET", "/api/v1/merchant/assignment-rules", "", 403, nil},
	{"shop.owner", "DELETE", "/api/v1/merchant/assignment-rules/0190a6b2-0000-7000-8000-000000000000", "", 403, nil},
}

type authzRow struct {
	as, method, path, body string
	status                 int
	then                   func(t *testing.T, w *authzWorld, body []byte)
}

type authzWorld struct {
	demo         identity.Demo
	tokens       map[string]string    // login → secret
	tokenIDs     map[string]string    // login → token id
	sessions     map[string][2]string // login → cookie, csrf
	roles        map[string]string
	bad          map[string]string // revoked, expired, unknown, malformed → secret
	leads        map[string]string // rep login → their private lead
	order        string            // an order of the consumer demo at the live demo merchant
	liveOwner    string            // the live demo merchant's owner login
	liveMerchant string            // the merchant of the demo order
	approval     string            // the demo's pending contract discount (asked by sh1.rep, SH team 1)
	pools        map[string]string // rep login → the pool of their unit
	merge        string            // a merge of the demo waiting for review
	segment      string            // the demo's first segment
	campaign     string            // the demo's campaign
	member       string            // the demo consumer, a member
}

func TestAuthorizationTable(t *testing.T) {
	a := testApp(t)
	w := newAuthzWorld(t, a)
	h := a.router()
	for i, row := range authzTable {
		name := fmt.Sprintf("%02d %s %s %s", i, row.as, row.method, row.path)
		t.Run(name, func(t *testing.T) {
			res, body := w.do(t, h, row)
			if res.StatusCode != row.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, row.status, body)
			}
			if row.then != nil {
				row.then(t, w, body)
			}
		})
	}
	t.Logf("authorization table: %d rows", len(authzTable))
}

func newAuthzWorld(t testing.TB, a *app) *authzWorld {
	t.Helper()
	ctx := context.Background()
	demo, err := a.identity.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	w := &authzWorld{demo: demo, tokens: map[string]string{}, tokenIDs: map[string]string{}, sessions: map[string][2]string{}, roles: map[string]string{}, bad: map[string]string{}}
	for login, id := range demo.Users {
		p, err := a.identity.Principal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Can(identity.PermTokenCreate) {
			continue
		}
		tok, secret, err := a.identity.CreateToken(ctx, p, identity.NewToken{Name: "authz " + login})
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[login], w.tokenIDs[login] = secret, tok.ID.String()
	}
	for _, login := range []string{"admin", "sh1.rep"} {
		s, err := a.identity.Login(ctx, identity.LoginAttempt{Login: login, Password: demoPassword, IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		w.sessions[login] = [2]string{s.Token, s.CSRFToken}
	}
	admin, _ := a.identity.Principal(ctx, demo.Users["admin"])
	roles, err := a.identity.ListRoles(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		w.roles[r.Key] = r.ID.String()
	}
	rep, _ := a.identity.Principal(ctx, demo.Users["hz1.rep"])
	revoked, secret, err := a.identity.CreateToken(ctx, rep, identity.NewToken{Name: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.identity.RevokeToken(ctx, rep, revoked.ID); err != nil {
		t.Fatal(err)
	}
	w.bad["revoked"] = secret
	// A token made by a service whose clock is two hours behind, for one hour: expired.
	past := identity.NewService(a.db, a.redis, identity.Config{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	if _, w.bad["expired"], err = past.CreateToken(ctx, rep, identity.NewToken{Name: "expired", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	// One private lead per rep: created into the pool and claimed, through the service.
	w.leads, w.pools = map[string]string{}, map[string]string{}
	for i, login := range []string{"sh1.rep", "sh2.rep", "hz1.rep"} {
		rep, err := a.identity.Principal(ctx, demo.Users[login])
		if err != nil {
			t.Fatal(err)
		}
		l, err := a.merchant.CreateLead(ctx, rep, merchant.NewLead{Name: "authz shop " + login, Category: "餐饮",
			Lat: 31.23 + float64(i)*0.01, Lng: 121.47, Phone: fmt.Sprintf("1390000%04d", i), City: "上海"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.merchant.Claim(ctx, rep, l.ID); err != nil {
			t.Fatal(err)
		}
		w.leads[login], w.pools[login] = l.ID.String(), l.PoolID.String()
	}
	// The live demo merchant (made through the services, its owner login included) and an
	// order there; "live.owner" is that merchant's owner.
	d, err := a.seedDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	order, err := a.billing.PlaceOrder(ctx, d.consumerID, billing.NewOrder{MerchantID: d.merchantID, Description: "authz",
		Amount: money.MustNew(1000, money.CNY)})
	if err != nil {
		t.Fatal(err)
	}
	w.order = order.ID.String()
	w.liveMerchant = d.merchantID.String()
	w.member = d.consumerID.String()
	if err := a.db.QueryRow(ctx, `SELECT (SELECT id::text FROM marketing.segments ORDER BY created_at, id LIMIT 1),
		(SELECT id::text FROM marketing.campaigns ORDER BY created_at, id LIMIT 1)`).Scan(&w.segment, &w.campaign); err != nil {
		t.Fatalf("the demo's segment and campaign: %v", err)
	}
	if err := a.db.QueryRow(ctx, "SELECT id::text FROM approval.requests WHERE state = 'pending' AND kind = 'merchant.contract_discount'").Scan(&w.approval); err != nil {
		t.Fatalf("the demo's discount approval: %v", err)
	}
	var owner demoLogin
	for _, l := range d.logins {
		if l.Login == "shop.owner" { // the owner of the live demo merchant, identity's merchant A
			owner = l
		}
	}
	w.liveOwner = owner.Login
	s, err := a.identity.Login(ctx, identity.LoginAttempt{Login: owner.Login, Password: owner.Password, IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := a.identity.AuthenticateSession(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, w.tokens["live.owner"], err = a.identity.CreateToken(ctx, op, identity.NewToken{Name: "authz live owner"}); err != nil {
		t.Fatal(err)
	}
	w.tokens["consumer"] = consumerToken(t, a, d.consumerID)
	other, err := consumerSignIn(a).SignInConsumer(ctx, "o-someone-else", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	w.tokens["other.consumer"] = other.Token
	// sh1.members: a team lead who holds the member permissions at team scope only.
	members, err := a.identity.Principal(ctx, addMemberReader(t, a, demo, "sh1.members", identity.DemoSHTeam1, identity.RoleTeamLead, identity.LevelTeam))
	if err != nil {
		t.Fatal(err)
	}
	if _, w.tokens["sh1.members"], err = a.identity.CreateToken(ctx, members, identity.NewToken{Name: "authz sh1.members"}); err != nil {
		t.Fatal(err)
	}
	growth, _ := a.identity.Principal(ctx, demo.Users["growth"])
	if review, err := a.matching.ListMerges(ctx, growth, matching.MergeReview, uuid.Nil, 1); err != nil || len(review) == 0 {
		t.Fatalf("the demo's merges waiting for review: %v", err)
	} else {
		w.merge = review[0].ID.String()
	}
	w.bad["unknown"] = identity.TokenPrefix + strings.Repeat("A", 43)
	w.bad["malformed"] = "not-a-token"
	return w
}

var placeholder = regexp.MustCompile(`\{(user|unit|token|role|merchant|lead|pool|order|approval|merge|segment|campaign|member):([^}]+)\}`)

func (w *authzWorld) expand(t testing.TB, s string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		g := placeholder.FindStringSubmatch(m)
		var v string
		switch g[1] {
		case "user":
			v = w.demo.Users[g[2]].String()
		case "unit":
			v = w.demo.Units[g[2]].String()
		case "merchant":
			v = w.demo.Merchants[g[2]].String()
			if g[2] == "live" { // the live merchant of the demo order (live.owner's)
				v = w.liveMerchant
			}
		case "token":
			v = w.tokenIDs[g[2]]
		case "role":
			v = w.roles[g[2]]
		case "lead":
			v = w.leads[g[2]]
		case "pool":
			v = w.pools[g[2]]
		case "order":
			v = w.order
		case "approval":
			v = w.approval
		case "merge":
			v = w.merge
		case "segment":
			v = w.segment
		case "campaign":
			v = w.campaign
		case "member":
			v = w.member
		}
		if v == "" || strings.HasPrefix(v, "00000000") {
			t.Fatalf("no id for %s", m)
		}
		return v
	})
}

func (w *authzWorld) do(t *testing.T, h http.Handler, row authzRow) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if row.body != "" {
		body = strings.NewReader(w.expand(t, row.body))
	}
	req := httptest.NewRequest(row.method, w.expand(t, row.path), body)
	if row.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	login, mode, _ := strings.Cut(row.as, "/")
	switch {
	case login == "":
	case w.bad[login] != "":
		req.Header.Set("Authorization", "Bearer "+w.bad[login])
	case mode == "cookie" || mode == "nocsrf":
		s, ok := w.sessions[login]
		if !ok {
			t.Fatalf("no session for %s", login)
		}
		req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: s[0]})
		if mode == "cookie" {
			req.Header.Set(identity.CSRFHeader, s[1])
		}
	default:
		secret, ok := w.tokens[login]
		if !ok {
			t.Fatalf("no token for %s", login)
		}
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.Bytes()
}

// Checks of a row's answer.

func code(want string) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, _ *authzWorld, body []byte) {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error.Code != want {
			t.Fatalf("error code: want %s, body %s", want, body)
		}
	}
}

func permissionsOf(t *testing.T, body []byte) map[string]string {
	var me struct {
		Permissions map[string]string `json:"permissions"`
	}
	if err := json.Unmarshal(body, &me); err != nil {
		t.Fatal(err)
	}
	return me.Permissions
}

func has(perm, level string) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, _ *authzWorld, body []byte) {
		if got := permissionsOf(t, body)[perm]; got != level {
			t.Fatalf("%s at %q, want %q", perm, got, level)
		}
	}
}

func lacks(perm string) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, _ *authzWorld, body []byte) {
		if got, ok := permissionsOf(t, body)[perm]; ok {
			t.Fatalf("holds %s at %s", perm, got)
		}
	}
}

func items(t *testing.T, body []byte) []map[string]any {
	var p struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return p.Items
}

func field(t *testing.T, body []byte, key string) []string {
	var out []string
	for _, it := range items(t, body) {
		out = append(out, fmt.Sprint(it[key]))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// setOf checks that the items' key values are exactly want; "live.owner" stands for the
// login of the live demo merchant's owner, which is made with the merchant.
func setOf(t *testing.T, key string, want ...string) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, w *authzWorld, body []byte) {
		want := slices.Clone(want)
		for i, v := range want {
			if v == "live.owner" {
				want[i] = w.liveOwner
			}
		}
		sort.Strings(want)
		if got := field(t, body, key); !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, want %v", key, got, want)
		}
	}
}

func sees(logins ...string) func(*testing.T, *authzWorld, []byte) {
	return setOf(nil, "login", logins...)
}

func owners(logins ...string) func(*testing.T, *authzWorld, []byte) {
	return setOf(nil, "owner_login", logins...)
}

func actors(logins ...string) func(*testing.T, *authzWorld, []byte) {
	return setOf(nil, "actor_login", logins...)
}

func count(n int) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, _ *authzWorld, body []byte) {
		if got := len(items(t, body)); got != n {
			t.Fatalf("%d items, want %d", got, n)
		}
	}
}

func atLeast(n int) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, _ *authzWorld, body []byte) {
		if got := len(items(t, body)); got < n {
			t.Fatalf("%d items, want at least %d", got, n)
		}
	}
}

func is(key, want string) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, _ *authzWorld, body []byte) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || fmt.Sprint(m[key]) != want {
			t.Fatalf("%s: want %q in %s", key, want, body)
		}
	}
}

// stateIs checks the "state" of a JSON object.
func stateIs(want string) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, _ *authzWorld, body []byte) {
		var v struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.State != want {
			t.Fatalf("state %q (%v), want %q", v.State, err, want)
		}
	}
}

// outcome checks the code of the first item of a bulk answer (assignments).
func outcome(want string) func(*testing.T, *authzWorld, []byte) {
	return func(t *testing.T, _ *authzWorld, body []byte) {
		if got := items(t, body); len(got) == 0 || got[0]["code"] != want {
			t.Fatalf("outcome %v, want %s", got, want)
		}
	}
}

// consumerSignIn signs consumers in as the mini-program would; WeChat's code exchange is
// the one stand-in (its code is the openid here), the session and its token are
// identity's own.
func consumerSignIn(a *app) *identity.Service {
	return identity.NewService(a.db, a.redis, identity.Config{Code2Session: func(_ context.Context, code string) (identity.ConsumerClaims, error) {
		return identity.ConsumerClaims{AppID: a.cfg.WxpayAppID, OpenID: code}, nil
	}})
}

// consumerToken is the token of a consumer (the demo's) signed in with their openid.
func consumerToken(t testing.TB, a *app, consumerID uuid.UUID) string {
	t.Helper()
	ctx := context.Background()
	ids, err := a.identity.ConsumerIdentities(ctx, consumerID)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id.Kind == "openid" {
			cs, err := consumerSignIn(a).SignInConsumer(ctx, id.Value, "127.0.0.1")
			if err != nil || cs.ConsumerID != consumerID {
				t.Fatalf("consumer sign-in: %v (%v)", err, cs.ConsumerID)
			}
			return cs.Token
		}
	}
	t.Fatalf("consumer %s has no openid", consumerID)
	return ""
}
