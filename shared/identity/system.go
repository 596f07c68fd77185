package identity

import "github.com/google/uuid"

// SystemLogin is the login the system principal's actions are audited under.
const SystemLogin = "system"

// System is the principal Tandem acts as when no person does: a job, or a step one
// domain takes on another's behalf after a person's action (the owner login made when
// a reviewer approves a merchant). It holds the admin role's permissions at scope all;
// its audit entries name it "system" with no user id.
func System() *Principal {
	p := &Principal{
		User:  User{ID: uuid.Nil, Login: SystemLogin, DisplayName: "Tandem", Kind: KindStaff, Roles: []string{RoleAdmin}},
		Roles: []RoleRef{{Key: RoleAdmin, Name: "Administrator", Scope: LevelAll}},
		perms: map[Permission]Level{},
	}
	for _, perm := range Permissions() {
		p.perms[perm] = LevelAll
	}
	return p
}
