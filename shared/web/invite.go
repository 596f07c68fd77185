package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
)

// The invitation page: a new user (a merchant's owner) opens the single-use link a
// reviewer forwarded and sets their own password. Public: the token in the path is
// the credential, and it works once.

type invitePage struct{ Token, Login, Name string }

func (w *Console) getInvite(c *gin.Context, v *View) error {
	token := c.Param("token")
	login, name, err := w.svc.InvitationFor(c.Request.Context(), token)
	if err != nil {
		return err
	}
	return w.show(c, v, "invite", "invite.title", invitePage{Token: token, Login: login, Name: name})
}

func (w *Console) postInvite(c *gin.Context, v *View) error {
	token := c.Param("token")
	pw := c.PostForm("password")
	if pw != c.PostForm("password2") {
		return w.inviteAgain(c, v, token, errs.Invalidf("password2", "the two passwords differ"))
	}
	login, err := w.svc.AcceptInvitation(c.Request.Context(), token, pw)
	if err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return err
		}
		return w.inviteAgain(c, v, token, err)
	}
	c.Redirect(http.StatusSeeOther, "/login?invited=1&login="+login)
	return nil
}

func (w *Console) inviteAgain(c *gin.Context, v *View, token string, err error) error {
	if k := errs.KindOf(err); k == errs.KindInternal || k == errs.KindUnavailable {
		return err
	}
	login, name, ierr := w.svc.InvitationFor(c.Request.Context(), token)
	if ierr != nil {
		return ierr
	}
	v.Error = v.message(err)
	c.Status(errs.KindOf(err).HTTPStatus())
	return w.show(c, v, "invite", "invite.title", invitePage{Token: token, Login: login, Name: name})
}
