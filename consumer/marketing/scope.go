package marketing

// Everything marketing keeps is the members' (segments of them, campaigns sent to them,
// the figures over them, the referrals between them), and members belong to no owner,
// org unit or merchant, so each method asks for its permission at scope all
// (Principal.RequireAll): a narrower scope, which reaches none of it, is answered not
// found with one of these objects, as the C-CRM's member pages answer, and the menu
// does not offer it these pages.
const (
	objMember   = "marketing.member"
	objSegment  = "marketing.segment"
	objCampaign = "marketing.campaign"
)
