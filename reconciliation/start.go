package reconciliation

import (
	"context"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// Error codes of starting a run by hand.
const (
	CodeUnknownAccount   = "recon.unknown_account"
	CodeStatementPending = "recon.statement_creating"
)

// AccountIDs are the merchant accounts (mchid) whose bills this service downloads.
func (s *Service) AccountIDs() []string {
	out := make([]string, len(s.ports.Accounts))
	for i, c := range s.ports.Accounts {
		out[i] = c.MchID()
	}
	return out
}

// StartRun reconciles one account's day now, as the daily task does but again even
// when the day has its run of record (finance, recon.exception.resolve at scope all):
// the ALL bill is downloaded and matched against billing's ledger, then the day's
// fund-flow bill; a day WeChat has no bill for is reconciled from our side alone. It returns when the run is saved
// (a day of a few hundred thousand lines takes seconds). While WeChat is still making
// the bill it is 409 recon.statement_creating and nothing changes.
func (s *Service) StartRun(ctx context.Context, p *identity.Principal, mchid, date string) (*Report, error) {
	if p == nil {
		return nil, identity.ErrUnauthenticated
	}
	sc, err := p.Require(identity.PermReconResolve)
	if err != nil {
		return nil, err
	}
	if !sc.SeesAll() {
		return nil, errs.E(errs.KindForbidden, "identity.forbidden", "starting a reconciliation is finance's")
	}
	if _, _, err := dayWindow(date); err != nil {
		return nil, errs.E(errs.KindInvalid, CodeInvalidDate, "the date is yyyy-MM-dd").WithField("date")
	}
	var client *wxpay.Client
	for _, c := range s.ports.Accounts {
		if c.MchID() == mchid {
			client = c
		}
	}
	if client == nil || s.ports.Ledger == nil {
		return nil, errs.E(errs.KindInvalid, CodeUnknownAccount, "no WeChat Pay account "+mchid+" is configured here").WithField("mchid")
	}
	rep, err := s.RunDownload(ctx, client, date, s.ports.Ledger)
	switch {
	case errs.Is(err, wxpay.CodeStatementCreating):
		return nil, errs.E(errs.KindConflict, CodeStatementPending, "WeChat is still making the bill of "+date+"; try again later")
	case errs.Is(err, wxpay.CodeNoStatementExist):
		return s.RunNoBill(ctx, mchid, date, s.ports.Ledger)
	case err == nil:
		s.fundFlowAfter(ctx, client, date)
	}
	return rep, err
}
