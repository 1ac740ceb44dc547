// Package analytics computes the figures of ANALYTICS.md: the pure fold of
// record changes into rollup cells (Fold), the reports read from those
// cells (Service), and the rollup job that keeps them current (Rollup).
//
// A record contributes to the cells of the moment it belongs to (a click's
// time, a referral's creation, a conversion's occurredAt, a deal's
// registration and its win, a ledger entry's occurredAt) at every level of
// detail it has: the organization, its program, its referrer, its partner,
// and the program × partner pair. A change contributes its new image's
// contribution minus its old image's, so the cells equal the sum of the
// records' current contributions whatever order the changes come in, as
// long as each change is applied once — which the store adapters
// guarantee with a feed position kept atomically with the cells.
package analytics

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/partnerloop/partnerloop/internal/commission"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Entities whose changes the rollups count (store.Change.Entity).
const (
	EntityClick      = "click"
	EntityReferral   = "referral"
	EntityConversion = "conversion"
	EntityDeal       = "deal"
	EntityCommission = "commission"
)

// Counted reports whether changes of entity contribute to the cells.
func Counted(entity string) bool {
	switch entity {
	case EntityClick, EntityReferral, EntityConversion, EntityDeal, EntityCommission:
		return true
	}
	return false
}

// Fold is the store.FoldFunc of the product: the cell deltas of changes.
func Fold(changes []store.Change, zone func(orgID string) *time.Location) ([]store.Cell, error) {
	acc := newAccumulator()
	for _, c := range changes {
		if !Counted(c.Entity) {
			continue
		}
		loc := zone(c.OrgID)
		if loc == nil {
			return nil, fmt.Errorf("analytics: no time zone for organization %s", c.OrgID)
		}
		if err := acc.image(c, c.OldImage, -1, loc); err != nil {
			return nil, err
		}
		if err := acc.image(c, c.NewImage, +1, loc); err != nil {
			return nil, err
		}
	}
	return acc.cells()
}

// accumulator sums contributions per cell.
type accumulator struct {
	m     map[cellID]*store.Cell
	order []cellID
}

type cellID struct {
	org string
	store.CellKey
}

func newAccumulator() *accumulator { return &accumulator{m: map[cellID]*store.Cell{}} }

// dims is what a record is attributed to.
type dims struct {
	program, referrer, partner string
}

// add adds f × sign to every cell of the record's levels, for the day and
// month of at in loc, in currency ("" for counts).
func (a *accumulator) add(org string, d dims, at time.Time, loc *time.Location, currency string, sign int64, f store.Figures) error {
	if sign < 0 {
		f = f.Neg()
	}
	local := at.In(loc)
	day := local.Format(store.DateLayout)
	month := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, time.UTC).Format(store.DateLayout)
	type level struct {
		name, dim, program, partner string
	}
	levels := []level{{name: store.LevelOrg}}
	if d.program != "" {
		levels = append(levels, level{name: store.LevelProgram, dim: d.program})
	}
	if d.referrer != "" {
		levels = append(levels, level{name: store.LevelReferrer, dim: d.referrer, program: d.program, partner: d.partner})
	}
	if d.partner != "" {
		levels = append(levels, level{name: store.LevelPartner, dim: d.partner})
		if d.program != "" {
			levels = append(levels, level{name: store.LevelProgramPartner, dim: store.ProgramPartnerDim(d.program, d.partner),
				program: d.program, partner: d.partner})
		}
	}
	for _, l := range levels {
		for _, g := range [...]struct{ grain, start string }{{store.GrainDay, day}, {store.GrainMonth, month}} {
			id := cellID{org: org, CellKey: store.CellKey{Level: l.name, DimID: l.dim, Grain: g.grain, Start: g.start, Currency: currency}}
			c := a.m[id]
			if c == nil {
				c = &store.Cell{OrgID: org, CellKey: id.CellKey, ProgramID: l.program, PartnerID: l.partner}
				a.m[id] = c
				a.order = append(a.order, id)
			}
			if err := c.Figures.Add(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// cells returns the non-zero deltas in first-touched order.
func (a *accumulator) cells() ([]store.Cell, error) {
	out := make([]store.Cell, 0, len(a.order))
	for _, id := range a.order {
		if c := a.m[id]; !c.Figures.IsZero() {
			out = append(out, *c)
		}
	}
	return out, nil
}

// image adds sign × the contribution of one image of a changed record
// (nothing for an absent image).
func (a *accumulator) image(c store.Change, img []byte, sign int64, loc *time.Location) error {
	if len(img) == 0 {
		return nil
	}
	decode := func(v any) error {
		if err := json.Unmarshal(img, v); err != nil {
			return fmt.Errorf("analytics: %s %s of %s: %w", c.Entity, c.ID, c.OrgID, err)
		}
		return nil
	}
	switch c.Entity {
	case EntityClick:
		var k domain.Click
		if err := decode(&k); err != nil {
			return err
		}
		return a.add(c.OrgID, dims{k.ProgramID, k.ReferrerID, k.PartnerID}, k.At, loc, "", sign, store.Figures{Clicks: 1})
	case EntityReferral:
		var r domain.Referral
		if err := decode(&r); err != nil {
			return err
		}
		f := store.Figures{Referrals: 1}
		if r.Status == domain.ReferralConverted {
			f.ConvertedReferrals = 1
		}
		return a.add(c.OrgID, dims{r.ProgramID, r.ReferrerID, r.PartnerID}, r.CreatedAt, loc, "", sign, f)
	case EntityConversion:
		return a.conversion(c, decode, sign, loc)
	case EntityDeal:
		return a.deal(c, decode, sign, loc)
	case EntityCommission:
		var e commission.Commission
		if err := decode(&e); err != nil {
			return err
		}
		return a.add(c.OrgID, dims{e.ProgramID, e.ReferrerID, e.PartnerID}, entryTime(e), loc, e.Amount.Currency, sign, entryFigures(e))
	}
	return nil
}

func (a *accumulator) conversion(c store.Change, decode func(any) error, sign int64, loc *time.Location) error {
	var v domain.Conversion
	if err := decode(&v); err != nil {
		return err
	}
	d := dims{v.ProgramID, v.ReferrerID, v.PartnerID}
	f := store.Figures{Conversions: 1}
	if v.PartnerID != "" {
		f.PartnerConversions = 1
	}
	if err := a.add(c.OrgID, d, v.OccurredAt, loc, "", sign, f); err != nil {
		return err
	}
	if v.Amount == nil {
		return nil
	}
	net := v.Amount.Amount - v.RefundedAmount.Amount // both bounded, never overflows
	m := store.Figures{Revenue: net}
	if v.PartnerID != "" {
		m.PartnerRevenue = net
	}
	return a.add(c.OrgID, d, v.OccurredAt, loc, v.Amount.Currency, sign, m)
}

// deal: a partner deal counts as registered when created and as won, at its
// won value, when it was marked won; direct deals are not partner
// contribution and count nowhere.
func (a *accumulator) deal(c store.Change, decode func(any) error, sign int64, loc *time.Location) error {
	var d domain.Deal
	if err := decode(&d); err != nil {
		return err
	}
	if d.PartnerID == "" || d.Source != domain.DealSourcePartner {
		return nil
	}
	at := dims{partner: d.PartnerID}
	if err := a.add(c.OrgID, at, d.CreatedAt, loc, "", sign, store.Figures{DealsRegistered: 1}); err != nil {
		return err
	}
	if d.Status != domain.DealWon || d.ClosedAt == nil {
		return nil
	}
	if err := a.add(c.OrgID, at, *d.ClosedAt, loc, "", sign, store.Figures{DealsWon: 1}); err != nil {
		return err
	}
	value := d.Value
	if d.WonValue != nil {
		value = *d.WonValue
	}
	return a.add(c.OrgID, at, *d.ClosedAt, loc, value.Currency, sign, store.Figures{DealValue: value.Amount})
}

// entryTime is when a ledger entry counts: its occurredAt (entries written
// before it was recorded fall back to their creation).
func entryTime(e commission.Commission) time.Time {
	if e.OccurredAt.IsZero() {
		return e.CreatedAt
	}
	return e.OccurredAt
}

// entryFigures: commission counts every entry that is not rejected or
// reversed; commissionAccrued sorts entries by status.
func entryFigures(e commission.Commission) store.Figures {
	amt := e.Amount.Amount
	var f store.Figures
	switch e.Status {
	case commission.StatusPending:
		f.Pending, f.Commission = amt, amt
	case commission.StatusApproved:
		f.Approved, f.Commission = amt, amt
	case commission.StatusPaid:
		f.Paid, f.Commission = amt, amt
	case commission.StatusReversed:
		f.Reversed = amt
	}
	return f
}
