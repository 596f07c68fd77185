package consumer

import (
	"context"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/audit"
)

// demoInvitees joined through 李娜's invitation and have not ordered yet: the growth
// console's referrals wait for their first orders, and each opens a real member 360.
var demoInvitees = []demoMember{
	{"o-demo-invitee-1", "13800138101", "赵磊", GenderMale, "2000-01-09", "上海", 0, 0, nil},
	{"o-demo-invitee-2", "13800138102", "孙悦", GenderFemale, "1998-04-21", "上海", 0, 0, nil},
	{"o-demo-invitee-3", "13800138103", "周杰", GenderMale, "2002-10-05", "杭州", 0, 0, nil},
	{"o-demo-invitee-4", "13800138104", "吴婷", GenderFemale, "1997-06-18", "苏州", 0, 0, nil},
}

// DemoInvites makes the demo's invitees as members (idempotent) and returns the
// member who invited them (李娜, of the demo) and their ids, for marketing's demo
// referrals: the referral programme's records are of members loyalty knows.
func DemoInvites(ctx context.Context, s *Service, appID string) (referrer uuid.UUID, invitees []uuid.UUID, err error) {
	gold := demoMembers[1]
	r, _, err := s.Join(ctx, JoinRequest{AppID: appID, OpenID: gold.openid, Phone: gold.phone})
	if err != nil {
		return uuid.Nil, nil, err
	}
	for _, d := range demoInvitees {
		m, _, err := s.Join(ctx, JoinRequest{AppID: appID, OpenID: d.openid, Phone: d.phone})
		if err != nil {
			return uuid.Nil, nil, err
		}
		if err := s.demoProfile(ctx, audit.Actor{Login: "demo"}, m.ID, d); err != nil {
			return uuid.Nil, nil, err
		}
		invitees = append(invitees, m.ID)
	}
	return r.ID, invitees, nil
}
