package marketing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Referral error codes.
const (
	CodeReferralCodeUnknown = "marketing.referral_code_not_found"
	CodeSelfReferral        = "marketing.self_referral"
	CodeNotNewMember        = "marketing.referral_not_new"
	CodeAlreadyReferred     = "marketing.already_referred"
)

// codeAlphabet has no look-alikes (0/O, 1/I/L).
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func newCode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(b))
	for i, v := range b {
		out[i] = codeAlphabet[int(v)%len(codeAlphabet)]
	}
	return string(out)
}

// ReferralCode is a member's invite code (made on first ask), and the link the
// mini-program shares.
func (s *Service) ReferralCode(ctx context.Context, consumer uuid.UUID, device string) (string, error) {
	q := marketingdb.New(s.db)
	for range 5 {
		if r, err := q.GetReferralCode(ctx, consumer); err == nil {
			return r.Code, nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return "", pg.Classify(err)
		}
		_, err := q.InsertReferralCode(ctx, marketingdb.InsertReferralCodeParams{ConsumerID: consumer, Code: newCode(),
			DeviceID: strings.TrimSpace(device), CreatedAt: s.now()})
		if err != nil && !pg.IsUniqueViolation(err, "referral_codes_code_key") {
			return "", pg.Classify(err)
		}
	}
	return "", fmt.Errorf("marketing: no free invite code after 5 tries")
}

// AcceptInvite records that invitee joined through code. Refused: an unknown code,
// one's own code or the referrer's device (self-referral), a member who has ordered
// already (not new), a member referred before.
func (s *Service) AcceptInvite(ctx context.Context, invitee uuid.UUID, code, device string) error {
	code = strings.ToUpper(strings.TrimSpace(code))
	device = strings.TrimSpace(device)
	return pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := marketingdb.New(tx)
		ref, err := q.ReferralCodeByCode(ctx, code)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.KindInvalid, CodeReferralCodeUnknown, "no such invite code").WithField("code")
		}
		if err != nil {
			return err
		}
		if ref.ConsumerID == invitee || (device != "" && device == ref.DeviceID) {
			return errs.E(errs.KindInvalid, CodeSelfReferral, "one cannot invite oneself").WithField("code")
		}
		orders, err := q.MemberOrders(ctx, invitee)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if orders > 0 {
			return errs.E(errs.KindConflict, CodeNotNewMember, "invites are for members who have not ordered yet")
		}
		n, err := q.InsertReferral(ctx, marketingdb.InsertReferralParams{InviteeID: invitee, ReferrerID: ref.ConsumerID, Code: code,
			InviteeDevice: device, AcceptedAt: s.now()})
		if err == nil && n == 0 {
			return errs.E(errs.KindConflict, CodeAlreadyReferred, "this member was invited already")
		}
		return err
	})
}

// SettleReferrals rewards both sides of every referral whose first order was paid
// more than the programme's window ago (referral_settings.go) and not refunded (a refund voids it first),
// at most once each: the points are credited with keys per referral and side, and
// the referral is marked rewarded after.
func (s *Service) SettleReferrals(ctx context.Context) (int, error) {
	q := marketingdb.New(s.db)
	st, err := s.referralSettings(ctx, q)
	if err != nil {
		return 0, err
	}
	due, err := q.DueReferrals(ctx, ptr(s.now().Add(-s.window(st))))
	if err != nil {
		return 0, fmt.Errorf("marketing: due referrals: %w", err)
	}
	done := 0
	for _, r := range due {
		key := "referral:" + r.InviteeID.String()
		for _, side := range []struct {
			points int64
			member uuid.UUID
			key    string
		}{{st.ReferrerPoints, r.ReferrerID, key + ":referrer"}, {st.InviteePoints, r.InviteeID, key + ":invitee"}} {
			if side.points == 0 { // the programme rewards this side with nothing
				continue
			}
			if _, err := s.ports.Offers.CreditPoints(ctx, side.points, "referral", []Grant{{ConsumerID: side.member, Key: side.key}}); err != nil {
				return done, err
			}
		}
		if _, err := q.SettleReferral(ctx, marketingdb.SettleReferralParams{InviteeID: r.InviteeID, SettledAt: ptr(s.now())}); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}
