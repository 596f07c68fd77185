package identity

import "slices"

// Permission is what a role grants: "<domain>.<object>.<verb>".
type Permission string

// The catalogue. A domain adds its permissions here when it lands; roles may only hold
// permissions of the catalogue.
const (
	PermDashboardView Permission = "dashboard.view"

	PermUserRead    Permission = "identity.user.read"
	PermUserWrite   Permission = "identity.user.write"
	PermOrgRead     Permission = "identity.org.read"
	PermOrgWrite    Permission = "identity.org.write"
	PermRoleRead    Permission = "identity.role.read"
	PermRoleWrite   Permission = "identity.role.write"
	PermTokenCreate Permission = "identity.token.create" // create and revoke one's own tokens
	PermTokenManage Permission = "identity.token.manage" // see and revoke others' tokens in scope
	PermPIIRead     Permission = "identity.pii.read"     // see phone and ID numbers unmasked

	PermAuditRead   Permission = "audit.log.read"
	PermAuditExport Permission = "audit.log.export"
	PermQueuesAdmin Permission = "admin.queues"

	PermLeadRead         Permission = "merchant.lead.read"
	PermLeadWrite        Permission = "merchant.lead.write"
	PermLeadAssign       Permission = "merchant.lead.assign"
	PermVisitWrite       Permission = "merchant.visit.write"
	PermContractRead     Permission = "merchant.contract.read"
	PermContractWrite    Permission = "merchant.contract.write"
	PermContractApprove  Permission = "merchant.contract.approve" // approve a commission below the city's floor
	PermOnboardingRead   Permission = "merchant.onboarding.read"
	PermOnboardingReview Permission = "merchant.onboarding.review"
	PermPortalRead       Permission = "merchant.portal.read"

	PermMemberRead     Permission = "consumer.member.read"
	PermMemberWrite    Permission = "consumer.member.write"
	PermSegmentWrite   Permission = "consumer.segment.write"
	PermCampaignWrite  Permission = "consumer.campaign.write"
	PermPointsAdjust   Permission = "consumer.points.adjust"
	PermOrderRead      Permission = "billing.order.read"
	PermRefundCreate   Permission = "billing.refund.create"
	PermSettlementRead Permission = "billing.settlement.read"
	PermReconRead      Permission = "recon.run.read"
	PermReconResolve   Permission = "recon.exception.resolve"
)

// Permissions returns the catalogue in a stable order.
func Permissions() []Permission {
	return []Permission{
		PermDashboardView,
		PermUserRead, PermUserWrite, PermOrgRead, PermOrgWrite, PermRoleRead, PermRoleWrite,
		PermTokenCreate, PermTokenManage, PermPIIRead,
		PermAuditRead, PermAuditExport, PermQueuesAdmin,
		PermLeadRead, PermLeadWrite, PermLeadAssign, PermVisitWrite, PermContractRead, PermContractWrite, PermContractApprove,
		PermOnboardingRead, PermOnboardingReview, PermPortalRead,
		PermMemberRead, PermMemberWrite, PermSegmentWrite, PermCampaignWrite, PermPointsAdjust,
		PermOrderRead, PermRefundCreate, PermSettlementRead, PermReconRead, PermReconResolve,
	}
}

// Known reports whether p is in the catalogue.
func (p Permission) Known() bool { return slices.Contains(Permissions(), p) }

// RoleSpec is a built-in role: created by Bootstrap when missing, never overwritten.
type RoleSpec struct {
	Key         string
	Name        string
	Description string
	Scope       Level
	Permissions []Permission
}

// Built-in role keys.
const (
	RoleAdmin              = "admin"
	RoleCityManager        = "city_manager"
	RoleTeamLead           = "team_lead"
	RoleSalesRep           = "sales_rep"
	RoleOnboardingReviewer = "onboarding_reviewer"
	RoleGrowthOperator     = "growth_operator"
	RoleFinance            = "finance"
	RoleMerchantOwner      = "merchant_owner"
	RoleMerchantStaff      = "merchant_staff"
)

// BuiltinRoles is the role table of the README.
func BuiltinRoles() []RoleSpec {
	return []RoleSpec{
		{RoleAdmin, "Administrator", "everything, everywhere", LevelAll, Permissions()},
		{RoleCityManager, "City manager", "runs the sales teams of a city", LevelSubtree, []Permission{
			PermDashboardView, PermUserRead, PermUserWrite, PermOrgRead, PermRoleRead, PermTokenCreate, PermPIIRead, PermAuditRead,
			PermLeadRead, PermLeadWrite, PermLeadAssign, PermVisitWrite, PermContractRead, PermContractWrite, PermContractApprove, PermOnboardingRead}},
		{RoleTeamLead, "Team lead", "leads one sales team", LevelTeam, []Permission{
			PermDashboardView, PermUserRead, PermOrgRead, PermTokenCreate, PermAuditRead,
			PermLeadRead, PermLeadWrite, PermLeadAssign, PermVisitWrite, PermContractRead}},
		{RoleSalesRep, "Sales rep", "works their own leads in the field and signs their contracts", LevelOwn, []Permission{
			PermDashboardView, PermTokenCreate, PermLeadRead, PermLeadWrite, PermVisitWrite, PermContractRead, PermContractWrite}},
		{RoleOnboardingReviewer, "Onboarding reviewer", "reviews merchants' onboarding documents", LevelSubtree, []Permission{
			PermDashboardView, PermTokenCreate, PermOnboardingRead, PermOnboardingReview, PermContractRead}},
		{RoleGrowthOperator, "Growth operator", "runs members, segments and campaigns", LevelAll, []Permission{
			PermDashboardView, PermTokenCreate, PermMemberRead, PermMemberWrite, PermSegmentWrite, PermCampaignWrite, PermPointsAdjust}},
		{RoleFinance, "Finance", "orders, refunds, settlement and reconciliation; no leads", LevelAll, []Permission{
			PermDashboardView, PermTokenCreate, PermAuditRead, PermAuditExport,
			PermOrderRead, PermRefundCreate, PermSettlementRead, PermReconRead, PermReconResolve}},
		{RoleMerchantOwner, "Merchant owner", "the merchant's own portal, staff and money", LevelMerchant, []Permission{
			PermDashboardView, PermUserRead, PermUserWrite, PermTokenCreate, PermPortalRead, PermOrderRead, PermSettlementRead}},
		{RoleMerchantStaff, "Merchant staff", "the merchant's portal", LevelMerchant, []Permission{
			PermDashboardView, PermPortalRead, PermOrderRead}},
	}
}
