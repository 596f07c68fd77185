package merchant

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// A contract's life after signing: renewal (a new contract continuing it), termination
// (ended early by a city manager, with a reason) and expiry (past its last day,
// found by a scheduled task). An ended contract that was not renewed is published as
// TopicContractEnded: the pools' reclaim rule takes such a shop back, and a live
// merchant whose contract ended stops being live.

// TopicContractEnded: a shop's contract ended without a renewal (terminated or
// expired). Key: the lead id. Payload: ContractEnded.
const TopicContractEnded events.Topic = "merchant.contract_ended"

// ContractEnded is the payload of TopicContractEnded.
type ContractEnded struct {
	ContractID uuid.UUID `json:"contract_id"`
	ContractNo string    `json:"contract_no"`
	LeadID     uuid.UUID `json:"lead_id"`
	EndsOn     string    `json:"ends_on"` // the signed last day, 2006-01-02
	Cause      string    `json:"cause"`   // terminated, expired
	Reason     string    `json:"reason"`
	EndedAt    time.Time `json:"ended_at"`
}

// Codes of the contract's life.
const (
	CodeUnknownCycle   = "merchant.unknown_cycle"
	CodeContractState  = "merchant.contract_state"
	CodeRenewalGap     = "merchant.renewal_dates"
	CodeRenewalDiscout = "merchant.renewal_below_floor"
)

func contractState(c merchantdb.MerchantContract, verb string) error {
	return &errs.Error{Kind: errs.KindConflict, Code: CodeContractState, Field: "status",
		Message: fmt.Sprintf("contract %s is %s and cannot be %s", c.ContractNo, c.Status, verb)}
}

// currentActive loads a lead's active contract for update, for a caller with perm in
// scope of the lead.
func currentActive(ctx context.Context, q *merchantdb.Queries, p *identity.Principal, perm identity.Permission, leadID uuid.UUID) (merchantdb.MerchantLead, merchantdb.MerchantContract, error) {
	var c merchantdb.MerchantContract
	sc, err := p.Require(perm)
	if err != nil {
		return merchantdb.MerchantLead{}, c, err
	}
	l, err := q.GetLeadForUpdate(ctx, leadID)
	if err != nil {
		return l, c, notFound(err, "merchant.lead")
	}
	if !sc.Allows(leadRow(l)) {
		return l, c, errs.NotFound("merchant.lead")
	}
	cur, err := q.GetContractByLead(ctx, leadID)
	if err != nil {
		return l, c, notFound(err, "merchant.contract")
	}
	if c, err = q.GetContractForUpdate(ctx, cur.ID); err != nil {
		return l, c, err
	}
	if c.Status != string(ContractActive) {
		return l, c, contractState(c, "changed")
	}
	return l, c, nil
}

// RenewContract continues a lead's active contract with a new one (new terms and
// dates); the old one becomes renewed and the live merchant takes the new terms. The
// new contract starts after the old one started and no later than the day after it
// ends (no gap); a commission below the city's floor is refused here (sign a new
// contract, which asks for the discount approval).
func (s *Service) RenewContract(ctx context.Context, p *identity.Principal, leadID uuid.UUID, in NewContract) (Contract, error) {
	if err := principal(p); err != nil {
		return Contract{}, err
	}
	t, err := in.validate()
	if err != nil {
		return Contract{}, err
	}
	var out Contract
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, old, err := currentActive(ctx, q, p, identity.PermContractWrite, leadID)
		if err != nil {
			return err
		}
		if !t.starts.After(old.StartsOn) || t.starts.After(old.EndsOn.AddDate(0, 0, 1)) {
			return &errs.Error{Kind: errs.KindUnprocessable, Code: CodeRenewalGap, Field: "starts_on",
				Message: fmt.Sprintf("a renewal starts after %s and no later than %s", old.StartsOn.Format(time.DateOnly),
					old.EndsOn.AddDate(0, 0, 1).Format(time.DateOnly))}
		}
		if floor := s.floor(l.City); t.rate.Decimal().LessThan(floor.Decimal()) {
			return &errs.Error{Kind: errs.KindUnprocessable, Code: CodeRenewalDiscout, Field: "commission_rate",
				Message: fmt.Sprintf("a renewal below %s's floor of %s needs a discount approval: sign a new contract", l.City, floor)}
		}
		now := s.now()
		if old, err = q.EndContract(ctx, merchantdb.EndContractParams{ID: old.ID, Status: string(ContractRenewed), EndedAt: &now,
			EndReason: "renewed", EndedBy: nullUUID(p.User.ID)}); err != nil {
			return err
		}
		n, err := q.NextContractNo(ctx)
		if err != nil {
			return err
		}
		c := merchantdb.MerchantContract{ID: newID(), LeadID: l.ID, ContractNo: fmt.Sprintf("HT%s-%06d", now.Format("20060102"), n),
			CommissionRate: t.rate.Decimal(), SettlementCycle: string(t.cycle), StartsOn: t.starts, EndsOn: t.ends,
			SignedBy: p.User.ID, SignedAt: now, Status: string(ContractActive), DepositFen: in.DepositFen, RenewedFrom: nullUUID(old.ID)}
		if err := q.InsertRenewal(ctx, merchantdb.InsertRenewalParams{ID: c.ID, LeadID: c.LeadID, ContractNo: c.ContractNo,
			CommissionRate: c.CommissionRate, SettlementCycle: c.SettlementCycle, StartsOn: c.StartsOn, EndsOn: c.EndsOn,
			SignedBy: c.SignedBy, SignedAt: c.SignedAt, DepositFen: c.DepositFen, RenewedFrom: c.RenewedFrom}); err != nil {
			if pg.IsUniqueViolation(err, "contracts_renewed_from_key") {
				return contractState(old, "renewed twice")
			}
			return err
		}
		if err := q.SetMerchantContract(ctx, merchantdb.SetMerchantContractParams{LeadID: l.ID, ContractID: c.ID,
			CommissionRate: c.CommissionRate, SettlementCycle: c.SettlementCycle}); err != nil {
			return err
		}
		out = contractOf(c)
		return record(ctx, tx, p, "merchant.contract.renew", "merchant.contract", c.ID, contractOf(old), out)
	})
	if err != nil {
		return Contract{}, fmt.Errorf("merchant: renew contract: %w", pg.Classify(err))
	}
	return out, nil
}

// TerminateContract ends a lead's active contract early (merchant.contract.approve:
// the city manager), with a reason: the live merchant stops being live and
// TopicContractEnded is published.
func (s *Service) TerminateContract(ctx context.Context, p *identity.Principal, leadID uuid.UUID, reason string) (Contract, error) {
	if err := principal(p); err != nil {
		return Contract{}, err
	}
	if reason = strings.TrimSpace(reason); reason == "" {
		return Contract{}, errs.Invalidf("reason", "say why the contract is terminated")
	}
	var out Contract
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		_, c, err := currentActive(ctx, q, p, identity.PermContractApprove, leadID)
		if err != nil {
			return err
		}
		before := contractOf(c)
		if c, err = s.endContract(ctx, tx, q, c, ContractTerminated, reason, p.User.ID); err != nil {
			return err
		}
		out = contractOf(c)
		return record(ctx, tx, p, "merchant.contract.terminate", "merchant.contract", c.ID, before, out)
	})
	if err != nil {
		return Contract{}, fmt.Errorf("merchant: terminate contract: %w", pg.Classify(err))
	}
	return out, nil
}

// endContract ends an active contract in tx without a renewal: its merchant stops
// being live and the end is published.
func (s *Service) endContract(ctx context.Context, tx pgx.Tx, q *merchantdb.Queries, c merchantdb.MerchantContract,
	status ContractStatus, reason string, by uuid.UUID) (merchantdb.MerchantContract, error) {
	now := s.now()
	c, err := q.EndContract(ctx, merchantdb.EndContractParams{ID: c.ID, Status: string(status), EndedAt: &now, EndReason: reason,
		EndedBy: nullUUID(by)})
	if err != nil {
		return c, err
	}
	if _, err := q.EndMerchant(ctx, c.LeadID); err != nil {
		return c, err
	}
	_, err = outbox.Publish(ctx, tx, TopicContractEnded, c.LeadID.String(), ContractEnded{ContractID: c.ID, ContractNo: c.ContractNo,
		LeadID: c.LeadID, EndsOn: c.EndsOn.Format(time.DateOnly), Cause: string(status), Reason: reason, EndedAt: now})
	return c, err
}

// ExpireContracts ends the active contracts whose last day has passed (Asia/Shanghai):
// the scheduled task merchant:contracts-expiry. Idempotent; rows are locked with
// SKIP LOCKED, so two workers never end one twice.
func (s *Service) ExpireContracts(ctx context.Context, limit int) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		n = 0
		today := clock.Day(s.now())
		due, err := q.ContractsEndingBefore(ctx, merchantdb.ContractsEndingBeforeParams{EndsOn: time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC),
			Limit: int32(limit)})
		if err != nil {
			return err
		}
		for _, c := range due {
			ended, err := s.endContract(ctx, tx, q, c, ContractExpired, "expired", uuid.Nil)
			if err != nil {
				return err
			}
			if err := record(ctx, tx, identity.System(), "merchant.contract.expire", "merchant.contract", c.ID, contractOf(c), contractOf(ended)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("merchant: expire contracts: %w", pg.Classify(err))
	}
	return n, nil
}

func (s *Service) contractsExpiryTask() domain.Task {
	return domain.Task{Type: "merchant:contracts-expiry", Cron: "@every 1h", Queue: "default",
		Help: "end the contracts past their last day (Asia/Shanghai): the merchant stops being live, merchant.contract_ended is published",
		Handle: func(ctx context.Context, _ []byte) error {
			_, err := s.ExpireContracts(ctx, 500)
			return err
		}}
}

// ContractHistory lists a lead's contracts, oldest first (signed, renewed, ended).
func (s *Service) ContractHistory(ctx context.Context, p *identity.Principal, leadID uuid.UUID) ([]Contract, error) {
	if _, err := s.GetContract(ctx, p, leadID); err != nil {
		return nil, err
	}
	rows, err := merchantdb.New(s.db).ListContractsOfLead(ctx, leadID)
	if err != nil {
		return nil, fmt.Errorf("merchant: contracts: %w", pg.Classify(err))
	}
	out := make([]Contract, len(rows))
	for i, r := range rows {
		out[i] = contractOf(r)
	}
	return out, nil
}

// Expiring is an active contract ending soon, for the renewal list.
type Expiring struct {
	Contract
	LeadName string `json:"lead_name"`
	City     string `json:"city"`
}

// ExpiringContracts lists the active contracts in the caller's scope whose last day is
// within days from today, soonest first: the reps' and managers' renewal list.
func (s *Service) ExpiringContracts(ctx context.Context, p *identity.Principal, days int) ([]Expiring, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	sc, err := p.Require(identity.PermContractRead)
	if err != nil {
		return nil, err
	}
	if days <= 0 || days > 366 {
		return nil, errs.Invalidf("days", "days is 1 to 366")
	}
	today := clock.Day(s.now())
	from := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	rows, err := merchantdb.New(s.db).ContractsEndingWithin(ctx, merchantdb.ContractsEndingWithinParams{FromDay: from,
		ToDay: from.AddDate(0, 0, days), ScopeAll: sc.SeesAll(), ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return nil, fmt.Errorf("merchant: expiring contracts: %w", pg.Classify(err))
	}
	out := make([]Expiring, len(rows))
	for i, r := range rows {
		c := merchantdb.MerchantContract{ID: r.ID, LeadID: r.LeadID, ContractNo: r.ContractNo, CommissionRate: r.CommissionRate,
			SettlementCycle: r.SettlementCycle, StartsOn: r.StartsOn, EndsOn: r.EndsOn, SignedBy: r.SignedBy, SignedAt: r.SignedAt,
			Status: r.Status, DepositFen: r.DepositFen, ApprovalID: r.ApprovalID, RenewedFrom: r.RenewedFrom, EndedAt: r.EndedAt,
			EndReason: r.EndReason, EndedBy: r.EndedBy}
		out[i] = Expiring{Contract: contractOf(c), LeadName: r.LeadName, City: r.LeadCity}
	}
	return out, nil
}
