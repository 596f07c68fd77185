package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// EnsureAdmin creates the first administrator (at the root, with the admin role) when
// no user has the login; the system is the audited actor. It returns the user's id.
func (s *Service) EnsureAdmin(ctx context.Context, login, displayName, password string) (uuid.UUID, error) {
	if err := CheckPassword(password, login); err != nil {
		return uuid.Nil, err
	}
	if u, err := identitydb.New(s.db).GetUserByLogin(ctx, login); err == nil {
		return u.ID, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("identity: ensure admin: %w", err)
	}
	hash, err := hashPassword(password, s.cfg.Argon2)
	if err != nil {
		return uuid.Nil, err
	}
	id := newID()
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		root, err := q.RootOrgUnit(ctx)
		if err != nil {
			return fmt.Errorf("no org tree yet (run Bootstrap): %w", err)
		}
		role, err := q.GetRoleByKey(ctx, RoleAdmin)
		if err != nil {
			return fmt.Errorf("no admin role yet (run Bootstrap): %w", err)
		}
		if err := q.InsertUser(ctx, identitydb.InsertUserParams{ID: id, Login: login, DisplayName: displayName, Kind: string(KindStaff),
			OrgUnitID: nullUUID(root.ID), PasswordHash: hash}); err != nil {
			return err
		}
		if err := q.GrantRole(ctx, identitydb.GrantRoleParams{UserID: id, RoleID: role.ID}); err != nil {
			return err
		}
		return record(ctx, tx, nil, "identity.user.create", "identity.user", id.String(), nil, map[string]any{"login": login, "roles": []string{RoleAdmin}})
	})
	if pg.IsUniqueViolation(err, "users_login_key") {
		return s.EnsureAdmin(ctx, login, displayName, password) // created concurrently
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("identity: ensure admin: %w", err)
	}
	return id, nil
}

// Demo is the demo world: an org tree with two cities, a user per role (and a second
// rep, team lead and merchant, so that scopes have someone to exclude).
type Demo struct {
	Units     map[string]uuid.UUID // by name
	Users     map[string]uuid.UUID // by login
	Merchants map[string]uuid.UUID // "A", "B"
	Logins    []DemoLogin          // one per role, for the banner of 'tandem dev'
}

// DemoLogin is one printed demo account.
type DemoLogin struct{ Role, Login string }

// Demo org units and merchants.
const (
	DemoRegion   = "华东 East China"
	DemoShanghai = "上海 Shanghai"
	DemoHangzhou = "杭州 Hangzhou"
	DemoSHTeam1  = "上海一组 SH Team 1"
	DemoSHTeam2  = "上海二组 SH Team 2"
	DemoHZTeam1  = "杭州一组 HZ Team 1"
)

type demoUser struct {
	login, name, role, unit, merchant, phone string
}

func demoUsers() []demoUser {
	return []demoUser{
		{"sh.manager", "王经理 Wang (city manager)", RoleCityManager, DemoShanghai, "", "13800000001"},
		{"sh1.lead", "李组长 Li (team lead)", RoleTeamLead, DemoSHTeam1, "", "13800000002"},
		{"sh1.rep", "张销售 Zhang (sales rep)", RoleSalesRep, DemoSHTeam1, "", "13812345678"},
		{"sh2.rep", "赵销售 Zhao (sales rep)", RoleSalesRep, DemoSHTeam2, "", "13800000004"},
		{"hz.lead", "陈组长 Chen (team lead)", RoleTeamLead, DemoHZTeam1, "", "13800000005"},
		{"hz1.rep", "周销售 Zhou (sales rep)", RoleSalesRep, DemoHZTeam1, "", "13800000006"},
		{"reviewer", "孙审核 Sun (onboarding reviewer)", RoleOnboardingReviewer, DemoShanghai, "", "13800000007"},
		{"growth", "吴运营 Wu (growth operator)", RoleGrowthOperator, "", "", "13800000008"},
		{"finance", "郑财务 Zheng (finance)", RoleFinance, "", "", "13800000009"},
		{"shop.owner", "小笼包店主 Owner of Xiaolongbao", RoleMerchantOwner, "", "A", "13900000001"},
		{"shop.staff", "小笼包店员 Staff of Xiaolongbao", RoleMerchantStaff, "", "A", "13900000002"},
		{"shop2.owner", "生煎店主 Owner of Shengjian", RoleMerchantOwner, "", "B", "13900000003"},
	}
}

// SeedDemo builds the demo world through the service's own use cases (so it obeys every
// rule), all with one password. It is idempotent: what exists is kept.
func (s *Service) SeedDemo(ctx context.Context, password string) (Demo, error) {
	d := Demo{Units: map[string]uuid.UUID{}, Users: map[string]uuid.UUID{},
		Merchants: map[string]uuid.UUID{"A": demoMerchant("A"), "B": demoMerchant("B")}}
	if err := s.Bootstrap(ctx, "Tandem"); err != nil {
		return d, err
	}
	adminID, err := s.EnsureAdmin(ctx, "admin", "管理员 Admin", password)
	if err != nil {
		return d, err
	}
	d.Users["admin"] = adminID
	admin, err := s.Principal(ctx, adminID)
	if err != nil {
		return d, err
	}
	root, err := s.RootOrgUnit(ctx)
	if err != nil {
		return d, err
	}
	tree, err := s.OrgTree(ctx, admin)
	if err != nil {
		return d, err
	}
	for _, u := range tree {
		d.Units[u.Name] = u.ID
	}
	for _, u := range []struct {
		name, parent string
		kind         OrgKind
	}{
		{DemoRegion, "", OrgRegion}, {DemoShanghai, DemoRegion, OrgCity}, {DemoHangzhou, DemoRegion, OrgCity},
		{DemoSHTeam1, DemoShanghai, OrgTeam}, {DemoSHTeam2, DemoShanghai, OrgTeam}, {DemoHZTeam1, DemoHangzhou, OrgTeam},
	} {
		if _, ok := d.Units[u.name]; ok {
			continue
		}
		parent := root.ID
		if u.parent != "" {
			parent = d.Units[u.parent]
		}
		made, err := s.CreateOrgUnit(ctx, admin, NewOrgUnit{ParentID: parent, Kind: u.kind, Name: u.name})
		if err != nil {
			return d, fmt.Errorf("demo unit %s: %w", u.name, err)
		}
		d.Units[u.name] = made.ID
	}
	q := identitydb.New(s.db)
	for _, u := range demoUsers() {
		if existing, err := q.GetUserByLogin(ctx, u.login); err == nil {
			d.Users[u.login] = existing.ID
			continue
		}
		in := NewUser{Login: u.login, DisplayName: u.name, Kind: KindStaff, Phone: u.phone, Password: password, Roles: []string{u.role}}
		switch {
		case u.merchant != "":
			in.Kind, in.MerchantID = KindMerchant, d.Merchants[u.merchant]
		case u.unit != "":
			in.OrgUnitID = d.Units[u.unit]
		default:
			in.OrgUnitID = root.ID
		}
		made, err := s.CreateUser(ctx, admin, in)
		if errs.Is(err, "identity.login_taken") {
			continue
		}
		if err != nil {
			return d, fmt.Errorf("demo user %s: %w", u.login, err)
		}
		d.Users[u.login] = made.ID
	}
	d.Logins = []DemoLogin{{RoleAdmin, "admin"}, {RoleCityManager, "sh.manager"}, {RoleTeamLead, "sh1.lead"},
		{RoleSalesRep, "sh1.rep"}, {RoleOnboardingReviewer, "reviewer"}, {RoleGrowthOperator, "growth"},
		{RoleFinance, "finance"}, {RoleMerchantOwner, "shop.owner"}}
	return d, nil
}

// demoMerchant is a demo merchant's id (the merchant table comes with the merchant
// domain; users only carry the id).
func demoMerchant(name string) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://tandem.example/demo/merchant/"+name))
}
