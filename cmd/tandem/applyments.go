package main

import (
	"context"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// applyments adapts shared/wxpay's sub-merchant application API to the merchant
// domain's port. The client is read at each call: merchant is built before
// openPayments opens it.
type applyments struct{ a *app }

func (p applyments) client() (*wxpay.Client, error) {
	if p.a.pay == nil {
		return nil, errs.E(errs.KindUnavailable, "merchant.applyments_unset", "WeChat Pay is not open in this process")
	}
	return p.a.pay, nil
}

func (p applyments) SubmitApplyment(ctx context.Context, f merchant.ApplymentForm) (int64, error) {
	c, err := p.client()
	if err != nil {
		return 0, err
	}
	return c.SubmitApplyment(ctx, wxpay.ApplymentRequest{BusinessCode: f.BusinessCode, ContactName: f.ContactName,
		ContactPhone: f.ContactPhone, MerchantShortname: f.ShopName, ServicePhone: f.ContactPhone})
}

func (p applyments) QueryApplyment(ctx context.Context, businessCode string) (merchant.ApplymentStatus, error) {
	c, err := p.client()
	if err != nil {
		return merchant.ApplymentStatus{}, err
	}
	a, err := c.QueryApplyment(ctx, businessCode)
	if err != nil {
		return merchant.ApplymentStatus{}, err
	}
	return merchant.ApplymentStatus{State: a.State, SubMchID: a.SubMchID, SignURL: a.SignURL, RejectReason: a.RejectReason()}, nil
}
