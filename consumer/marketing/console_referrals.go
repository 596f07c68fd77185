package marketing

import (
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/web"
)

// The referral programme page (裂变): what each side earns, the refund window, the
// referrals by state and the latest ones.

func (pg consolePages) referrals(c *gin.Context, v *web.View) error {
	prog, err := pg.svc.GetReferralProgramme(c.Request.Context(), v.Me)
	if err != nil {
		return err
	}
	return pg.w.Show(c, v, "marketing/referrals", "growth.referrals_title", prog)
}

func (pg consolePages) saveReferralSettings(c *gin.Context, v *web.View) error {
	in, err := referralSettingsFromForm(c)
	if err == nil {
		_, err = pg.svc.SetReferralSettings(c.Request.Context(), v.Me, in)
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.referrals)
	}
	return pg.w.Redirect(c, "/growth/referrals", "growth.referral_settings_saved")
}

func referralSettingsFromForm(c *gin.Context) (ReferralSettings, error) {
	var in ReferralSettings
	for _, f := range []struct {
		name string
		to   *int64
	}{{"referrer_points", &in.ReferrerPoints}, {"invitee_points", &in.InviteePoints}} {
		n, err := strconv.ParseInt(strings.TrimSpace(c.PostForm(f.name)), 10, 64)
		if err != nil {
			return in, settingsError(f.name, "a whole number of points")
		}
		*f.to = n
	}
	days, err := strconv.Atoi(strings.TrimSpace(c.PostForm("window_days")))
	if err != nil {
		return in, settingsError("window_days", "a whole number of days")
	}
	in.WindowDays = days
	return in, nil
}
