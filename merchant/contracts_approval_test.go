package merchant_test

import (
	"testing"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
)

// A commission below the city's floor waits for a discount approval: the city manager
// sees it on their to-do list; the lead is signed only when it is approved. Rejected,
// the lead is free for a new contract. An approver outside the scope is 403 and
// changes nothing.
func TestContractDiscountApproval(t *testing.T) {
	t.Parallel()
	w := newWorld(t, merchant.Config{})
	approvals := approval.New(domain.Deps{DB: w.db})
	floor, _ := money.ParsePercent("5%")
	svc := merchant.New(domain.Deps{DB: w.db}, merchant.Ports{Owners: w.owners, Approvals: approvals},
		merchant.Config{CityFloors: map[string]money.Rate{"上海": floor}})
	rep, mgr := w.p(t, "sh1.rep"), w.p(t, "sh.manager")
	l := negotiating(t, w, "13800000951")
	terms := merchant.NewContract{CommissionRate: "3.5%", SettlementCycle: merchant.CycleT7, StartsOn: "2026-01-01", EndsOn: "2027-01-01", DepositFen: 200_000}
	c := must[merchant.Contract](t)(svc.SignContract(w.ctx, rep, l.ID, terms))
	if c.Status != merchant.ContractPending || c.ApprovalID == nil || c.DepositFen != 200_000 {
		t.Fatalf("contract: %+v", c)
	}
	if got := must[merchant.Lead](t)(svc.GetLead(w.ctx, rep, l.ID)); got.Stage != merchant.StageNegotiating {
		t.Fatalf("a pending discount signed the lead: %s", got.Stage)
	}
	todo := must[approval.Page](t)(approvals.List(w.ctx, mgr, approval.Filter{}))
	if len(todo.Requests) != 1 || todo.Requests[0].ID != *c.ApprovalID || todo.Requests[0].Kind != merchant.KindContractDiscount {
		t.Fatalf("manager's to-dos: %+v", todo)
	}
	// A Hangzhou team lead holds no approval permission: 403, nothing changes.
	_, err := approvals.Decide(w.ctx, w.p(t, "hz.lead"), *c.ApprovalID, approval.Decision{Approve: true})
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("out of scope: %v", err)
	}
	// Rejected: the contract is rejected and a new one can be signed at the floor.
	must[approval.Request](t)(approvals.Decide(w.ctx, mgr, *c.ApprovalID, approval.Decision{Comment: "below cost"}))
	if got := must[merchant.Contract](t)(svc.GetContract(w.ctx, rep, l.ID)); got.Status != merchant.ContractRejected {
		t.Fatalf("after rejection: %+v", got)
	}
	terms.CommissionRate = "4%"
	c2 := must[merchant.Contract](t)(svc.SignContract(w.ctx, rep, l.ID, terms))
	_, err = svc.SignContract(w.ctx, rep, l.ID, terms)
	wantCode(t, err, "merchant.contract_exists")
	must[approval.Request](t)(approvals.Decide(w.ctx, mgr, *c2.ApprovalID, approval.Decision{Approve: true, Comment: "strategic shop"}))
	if got := must[merchant.Contract](t)(svc.GetContract(w.ctx, rep, l.ID)); got.Status != merchant.ContractActive || got.ID != c2.ID {
		t.Fatalf("after approval: %+v", got)
	}
	if got := must[merchant.Lead](t)(svc.GetLead(w.ctx, rep, l.ID)); got.Stage != merchant.StageSigned {
		t.Fatalf("approved, the lead is %s", got.Stage)
	}
	// At the floor no approval is asked; a negative deposit is refused naming the field.
	l2 := negotiating(t, w, "13800000952")
	bad := terms
	bad.DepositFen = -1
	_, err = svc.SignContract(w.ctx, rep, l2.ID, bad)
	if e := errs.As(err); e == nil || e.Field != "deposit_fen" {
		t.Fatalf("negative deposit: %v", err)
	}
	terms.CommissionRate = "5%"
	if c3 := must[merchant.Contract](t)(svc.SignContract(w.ctx, rep, l2.ID, terms)); c3.Status != merchant.ContractActive || c3.ApprovalID != nil {
		t.Fatalf("at the floor: %+v", c3)
	}
}
