package merchant

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Cycle is a settlement cycle.
type Cycle string

const (
	CycleT1      Cycle = "T+1"
	CycleT7      Cycle = "T+7"
	CycleMonthly Cycle = "monthly"
)

// Contract is a signed agreement with a shop (合同). Contracts are never changed.
type Contract struct {
	ID              uuid.UUID  `json:"id"`
	LeadID          uuid.UUID  `json:"lead_id"`
	ContractNo      string     `json:"contract_no"`
	CommissionRate  money.Rate `json:"-"`
	CommissionText  string     `json:"commission_rate"` // "6.5%"
	SettlementCycle Cycle      `json:"settlement_cycle"`
	StartsOn        string     `json:"starts_on"` // 2006-01-02
	EndsOn          string     `json:"ends_on"`
	SignedBy        uuid.UUID  `json:"signed_by"`
	SignedAt        time.Time  `json:"signed_at"`
	// Status: active, or pending_approval while a commission below the city's floor
	// waits for its discount approval (ApprovalID), rejected when turned down.
	Status     ContractStatus `json:"status"`
	DepositFen int64          `json:"deposit_fen"`
	ApprovalID *uuid.UUID     `json:"approval_id,omitempty"`
	// RenewedFrom is the contract this one renews; EndedAt and EndReason say when and
	// why a terminated, renewed or expired contract ended.
	RenewedFrom *uuid.UUID `json:"renewed_from,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	EndReason   string     `json:"end_reason,omitempty"`
}

// ContractStatus is where a contract stands.
type ContractStatus string

const (
	ContractPending  ContractStatus = "pending_approval"
	ContractActive   ContractStatus = "active"
	ContractRejected ContractStatus = "rejected"
	// Ended contracts (contracts_lifecycle.go).
	ContractTerminated ContractStatus = "terminated"
	ContractRenewed    ContractStatus = "renewed"
	ContractExpired    ContractStatus = "expired"
)

// KindContractDiscount is the approval kind of a commission below the city's floor.
const KindContractDiscount = "merchant.contract_discount"

// NewContract is what SignContract takes. CommissionRate is a percentage ("6.5%") or
// a fraction ("0.065"); dates are 2006-01-02.
type NewContract struct {
	CommissionRate  string
	SettlementCycle Cycle
	StartsOn        string
	EndsOn          string
	DepositFen      int64 // the shop's deposit in fen; 0 for none
}

type contractTerms struct {
	rate         money.Rate
	cycle        Cycle
	starts, ends time.Time
}

func (in NewContract) validate() (contractTerms, error) {
	var t contractTerms
	rate, err := money.ParsePercent(in.CommissionRate)
	if err != nil {
		e := errs.As(err)
		return t, &errs.Error{Kind: errs.KindUnprocessable, Code: e.Code, Field: "commission_rate", Err: err,
			Message: "commission_rate " + e.Message + fmt.Sprintf(" (got %q)", in.CommissionRate)}
	}
	if !slices.Contains([]Cycle{CycleT1, CycleT7, CycleMonthly}, in.SettlementCycle) {
		return t, &errs.Error{Kind: errs.KindInvalid, Code: CodeUnknownCycle, Field: "settlement_cycle",
			Message: fmt.Sprintf("settlement_cycle %q is not a cycle WeChat settles: T+1, T+7 or monthly", in.SettlementCycle)}
	}
	if t.starts, err = time.Parse(time.DateOnly, in.StartsOn); err != nil {
		return t, errs.Invalidf("starts_on", "starts_on must be a date, 2006-01-02")
	}
	if t.ends, err = time.Parse(time.DateOnly, in.EndsOn); err != nil {
		return t, errs.Invalidf("ends_on", "ends_on must be a date, 2006-01-02")
	}
	if !t.ends.After(t.starts) {
		return t, &errs.Error{Kind: errs.KindUnprocessable, Code: "merchant.contract_dates", Field: "ends_on",
			Message: "ends_on must be after starts_on"}
	}
	if in.DepositFen < 0 {
		return t, errs.Invalidf("deposit_fen", "deposit_fen is a deposit in fen, 0 or more")
	}
	t.rate, t.cycle = rate, in.SettlementCycle
	return t, nil
}

func contractOf(c merchantdb.MerchantContract) Contract {
	r, _ := money.NewRate(c.CommissionRate) // the column's CHECK keeps it in 0..1
	return Contract{ID: c.ID, LeadID: c.LeadID, ContractNo: c.ContractNo, CommissionRate: r, CommissionText: r.String(),
		SettlementCycle: Cycle(c.SettlementCycle), StartsOn: c.StartsOn.Format(time.DateOnly),
		EndsOn: c.EndsOn.Format(time.DateOnly), SignedBy: c.SignedBy, SignedAt: c.SignedAt.UTC(),
		Status: ContractStatus(c.Status), DepositFen: c.DepositFen, ApprovalID: ptr(c.ApprovalID), RenewedFrom: ptr(c.RenewedFrom),
		EndedAt: c.EndedAt, EndReason: c.EndReason}
}

// SignContract signs the contract of a lead in negotiation (or visited) and moves it
// to signed. A rate outside 0–100% is refused with 422 naming commission_rate.
func (s *Service) SignContract(ctx context.Context, p *identity.Principal, leadID uuid.UUID, in NewContract) (Contract, error) {
	if err := principal(p); err != nil {
		return Contract{}, err
	}
	if _, err := p.Require(identity.PermContractWrite); err != nil {
		return Contract{}, err
	}
	t, err := in.validate()
	if err != nil {
		return Contract{}, err
	}
	var out Contract
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermContractWrite, leadID)
		if err != nil {
			return err
		}
		if st := Stage(l.Stage); st != StageVisited && st != StageNegotiating {
			return &errs.Error{Kind: errs.KindConflict, Code: "merchant.illegal_stage", Field: "stage",
				Message: fmt.Sprintf("a contract is signed with a lead that is visited or negotiating, not %s", st)}
		}
		n, err := q.NextContractNo(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		floor := s.floor(l.City)
		discount := t.rate.Decimal().LessThan(floor.Decimal())
		status := ContractActive
		if discount {
			if s.approvals == nil {
				return &errs.Error{Kind: errs.KindUnprocessable, Code: CodeBelowFloor, Field: "commission_rate",
					Message: fmt.Sprintf("the commission is below %s's floor of %s and no approval flow is configured", l.City, floor)}
			}
			status = ContractPending
		}
		c := merchantdb.MerchantContract{ID: newID(), LeadID: l.ID, ContractNo: fmt.Sprintf("HT%s-%06d", now.Format("20060102"), n),
			CommissionRate: t.rate.Decimal(), SettlementCycle: string(t.cycle), StartsOn: t.starts, EndsOn: t.ends,
			SignedBy: p.User.ID, SignedAt: now, Status: string(status), DepositFen: in.DepositFen}
		if err := q.InsertContractWithStatus(ctx, merchantdb.InsertContractWithStatusParams{ID: c.ID, LeadID: c.LeadID,
			ContractNo: c.ContractNo, CommissionRate: c.CommissionRate, SettlementCycle: c.SettlementCycle, StartsOn: c.StartsOn,
			EndsOn: c.EndsOn, SignedBy: c.SignedBy, SignedAt: c.SignedAt, Status: c.Status, DepositFen: c.DepositFen}); err != nil {
			if pg.IsUniqueViolation(err, "contracts_lead_current_key") {
				return errs.E(errs.KindConflict, "merchant.contract_exists", "this lead already has a contract")
			}
			return err
		}
		if discount {
			r, err := s.approvals.Request(ctx, tx, p, approval.NewRequest{Kind: KindContractDiscount,
				Subject:  approval.Subject{Type: "merchant.contract", ID: c.ID.String()},
				Title:    fmt.Sprintf("%s %s: %s < %s (%s)", c.ContractNo, l.Name, t.rate, floor, l.City),
				Summary:  fmt.Sprintf("%s, %s – %s", t.cycle, in.StartsOn, in.EndsOn),
				Approver: identity.PermContractApprove, Scope: leadRow(l),
				Payload: map[string]any{"lead_id": l.ID, "contract_no": c.ContractNo, "commission_rate": t.rate.String(), "floor": floor.String()}})
			if err != nil {
				return err
			}
			if err := q.SetContractApproval(ctx, merchantdb.SetContractApprovalParams{ID: c.ID, ApprovalID: nullUUID(r.ID)}); err != nil {
				return err
			}
			c.ApprovalID = nullUUID(r.ID)
		}
		out = contractOf(c)
		if !discount {
			if _, err := s.setStage(ctx, tx, q, p, l, StageSigned, systemReason(ReasonContract, "contract_no", c.ContractNo)); err != nil {
				return err
			}
		}
		return record(ctx, tx, p, "merchant.contract.sign", "merchant.contract", c.ID, nil, out)
	})
	if err != nil {
		return Contract{}, fmt.Errorf("merchant: sign contract: %w", pg.Classify(err))
	}
	return out, nil
}

// GetContract returns a lead's contract, for readers of contracts who may see the lead.
func (s *Service) GetContract(ctx context.Context, p *identity.Principal, leadID uuid.UUID) (Contract, error) {
	if err := principal(p); err != nil {
		return Contract{}, err
	}
	q := merchantdb.New(s.db)
	l, err := q.GetLead(ctx, leadID)
	if err != nil {
		return Contract{}, notFound(err, "merchant.contract")
	}
	if !p.Scope(identity.PermContractRead).Allows(leadRow(l)) {
		return Contract{}, errs.NotFound("merchant.contract")
	}
	c, err := q.GetContractByLead(ctx, leadID)
	if err != nil {
		return Contract{}, notFound(err, "merchant.contract")
	}
	return contractOf(c), nil
}

// CodeBelowFloor: a commission below the city's floor, where no approval can be asked.
const CodeBelowFloor = "merchant.commission_below_floor"

// floor is the city's lowest commission without a discount approval.
func (s *Service) floor(city string) money.Rate {
	if r, ok := s.cfg.CityFloors[city]; ok {
		return r
	}
	return s.cfg.CommissionFloor
}

// decideDiscount is the approval handler of KindContractDiscount, in the deciding
// transaction: approved, the contract is active and the lead signed; rejected, the
// contract is rejected and the lead stays where it was, free for a new contract.
func (s *Service) decideDiscount(ctx context.Context, tx pgx.Tx, r approval.Request) error {
	id, err := uuid.Parse(r.Subject.ID)
	if err != nil {
		return fmt.Errorf("merchant: discount approval of %q: %w", r.Subject.ID, err)
	}
	q := merchantdb.New(tx)
	status := ContractRejected
	if r.State == approval.StateApproved {
		status = ContractActive
	}
	c, err := q.DecideContract(ctx, merchantdb.DecideContractParams{ID: id, Status: string(status)})
	if err != nil {
		return fmt.Errorf("merchant: decide contract %s: %w", id, err)
	}
	if status != ContractActive {
		return nil
	}
	l, err := q.GetLeadForUpdate(ctx, c.LeadID)
	if err != nil {
		return err
	}
	_, err = s.setStage(ctx, tx, q, identity.System(), l, StageSigned,
		systemReason(ReasonContractDiscount, "contract_no", c.ContractNo, "approver", r.DecidedByLogin))
	return err
}
