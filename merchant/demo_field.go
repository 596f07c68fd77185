package merchant

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// demoFieldWork gives part 2's pages something real: onboarding documents for the
// applications (the changed one lacks its storefront photo, as its reason says),
// photos of the rep's visits, planned visits of the coming days with a reminder that
// is due (a to-do), this month's targets, the team's commission waiting for approval,
// and a renewed contract ending within 60 days. Idempotent: files are kept once per
// content, plans are made once per demo day, targets are replaced, a run exists once. Targets, the
// commission and the renewal are the system's, as an administrator would set them.
func demoFieldWork(ctx context.Context, s *Service, a DemoActors, res DemoResult) error {
	q := merchantdb.New(s.db)
	if s.files != nil {
		for i, id := range res.Leads {
			if err := demoDocuments(ctx, s, a, id, demoShops()[i].goal); err != nil {
				return err
			}
		}
		if err := demoPhotos(ctx, s, a); err != nil {
			return err
		}
	}
	if err := demoPlans(ctx, s, a, res.Leads); err != nil {
		return err
	}
	month := thisMonth(s.now()).Format("2006-01")
	if _, err := s.SetTarget(ctx, identity.System(), NewTarget{Month: month, Subject: SubjectRep, SubjectID: a.Rep.User.ID,
		Signings: 4, LiveShops: 3, FirstMonthGMVFen: 500_000}); err != nil {
		return fmt.Errorf("demo target: %w", err)
	}
	if a.Rep.User.OrgUnitID.Valid {
		team := a.Rep.User.OrgUnitID.UUID
		if _, err := s.SetTarget(ctx, identity.System(), NewTarget{Month: month, Subject: SubjectTeam, SubjectID: team,
			Signings: 10, LiveShops: 6, FirstMonthGMVFen: 2_000_000}); err != nil {
			return fmt.Errorf("demo team target: %w", err)
		}
		if s.approvals != nil {
			if _, err := s.ComputeCommission(ctx, identity.System(), month, team); err != nil && !errs.Is(err, CodeCommissionRun) {
				return fmt.Errorf("demo commission: %w", err)
			}
		}
	}
	// 小杨生煎 renewed this month for 45 days: on the renewal list.
	if len(res.Leads) > 1 {
		c, err := q.GetContractByLead(ctx, res.Leads[1])
		if err == nil && c.Status == string(ContractActive) && !c.RenewedFrom.Valid {
			today := clock.Day(s.now())
			if _, err := s.RenewContract(ctx, identity.System(), res.Leads[1], NewContract{CommissionRate: "6%", SettlementCycle: CycleT7,
				StartsOn: today.Format(time.DateOnly), EndsOn: today.AddDate(0, 0, 45).Format(time.DateOnly)}); err != nil {
				return fmt.Errorf("demo renewal: %w", err)
			}
		}
	}
	return nil
}

// demoImage is a small JPEG of one colour with a band: a stand-in photo.
func demoImage(r, g, b uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 240, 160))
	for x := range 240 {
		for y := range 160 {
			c := color.RGBA{R: r, G: g, B: b, A: 255}
			if y > 100 && y < 130 {
				c = color.RGBA{R: 255 - r, G: 255 - g, B: 255 - b, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70})
	return buf.Bytes()
}

// demoPDF is a minimal one-page PDF: a scanned licence's stand-in.
func demoPDF(title string) []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n" +
		"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >> endobj\n% " + title + "\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

func demoDocuments(ctx context.Context, s *Service, a DemoActors, id uuid.UUID, goal demoGoal) error {
	if goal != goalReview && goal != goalChange && goal != goalRejected && goal != goalWeChat {
		return nil
	}
	lead, err := s.GetLead(ctx, a.Rep, id)
	if err != nil {
		return fmt.Errorf("demo documents: %w", err)
	}
	files := []struct {
		key, name string
		data      []byte
	}{
		{"business_licence", "营业执照.pdf", demoPDF("business licence " + lead.Name)},
		{"legal_id", "身份证正面.jpg", demoImage(200, 180, 150)},
		{"bank_account", "开户许可证.jpg", demoImage(120, 160, 200)},
		{"food_licence", "食品经营许可证.jpg", demoImage(150, 200, 140)},
		{"storefront", "门头照.jpg", demoImage(200, 90, 60)},
	}
	for _, f := range files {
		if f.key == "storefront" && goal == goalChange {
			continue // what the reviewer asked for
		}
		_, err := s.AddDocument(ctx, a.Rep, id, f.key, f.name, bytes.NewReader(f.data))
		if errs.Is(err, CodeDocumentKey) || errs.Is(err, CodeDocumentsState) {
			continue // not on this category's checklist, or already at WeChat
		}
		if err != nil {
			return fmt.Errorf("demo document %s of %s: %w", f.key, lead.Name, err)
		}
	}
	return nil
}

// demoPhotos adds a storefront photo to each of the rep's visits of the calendar's days.
func demoPhotos(ctx context.Context, s *Service, a DemoActors) error {
	cal, err := s.Calendar(ctx, a.Rep, CalendarQuery{})
	if err != nil {
		return fmt.Errorf("demo photos: %w", err)
	}
	for _, d := range cal.Days {
		for i, v := range d.Visits {
			if len(v.Photos) > 0 || i >= 4 {
				continue
			}
			if _, err := s.AddVisitPhoto(ctx, a.Rep, v.ID, bytes.NewReader(demoImage(uint8(60+i*40), 140, uint8(200-i*30)))); err != nil {
				return fmt.Errorf("demo photo: %w", err)
			}
		}
	}
	return nil
}

// demoPlans puts visits on the rep's calendar for today and the next days, once a
// day, and sends the reminder that is already due.
func demoPlans(ctx context.Context, s *Service, a DemoActors, leads []uuid.UUID) error {
	cal, err := s.Calendar(ctx, a.Rep, CalendarQuery{Week: true})
	if err != nil {
		return fmt.Errorf("demo plans: %w", err)
	}
	today := clock.Day(s.now()).Format(time.DateOnly)
	for _, d := range cal.Days {
		if d.Date == today && len(d.Plans) > 0 {
			return nil // planned already today
		}
	}
	now := s.now()
	plans := []struct {
		lead          int
		in            time.Duration
		minutes       int
		purpose       string
		remindMinutes int
	}{
		{3, 20 * time.Minute, 30, "补拍门头照片 retake the storefront photo", 30},
		{5, 26 * time.Hour, 45, "确认微信签约 confirm the WeChat signing", 60},
		{1, 50 * time.Hour, 30, "续约回访 renewal follow-up", 1440},
		{0, 3 * time.Hour, 30, "首月回访 first-month check", 0},
	}
	for _, p := range plans {
		if p.lead >= len(leads) {
			continue
		}
		if _, err := s.PlanVisit(ctx, a.Rep, leads[p.lead], NewPlan{StartsAt: now.Add(p.in), Minutes: p.minutes, Purpose: p.purpose,
			RemindMinutes: p.remindMinutes}); err != nil {
			return fmt.Errorf("demo plan: %w", err)
		}
	}
	if _, err := s.SendReminders(ctx, 100); err != nil {
		return fmt.Errorf("demo reminders: %w", err)
	}
	return nil
}
