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
	// groups are the cells one add adds to, by what decides them: most
	// records of a round share their program, referrer, partner, day and
	// currency with another (a conversion, its referral and its
	// commission), and find their cells with one lookup.
	groups map[groupID][]*store.Cell
}

type cellID struct {
	org string
	store.CellKey
}

// groupID is what decides the cells of an add.
type groupID struct {
	org      string
	d        dims
	loc      *time.Location
	year     int
	month    time.Month
	day      int
	currency string
}

func newAccumulator() *accumulator {
	return &accumulator{m: map[cellID]*store.Cell{}, groups: map[groupID][]*store.Cell{}}
}

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
	y, m, dd := local.Date()
	g := groupID{org: org, d: d, loc: loc, year: y, month: m, day: dd, currency: currency}
	cells, ok := a.groups[g]
	if !ok {
		cells = a.group(org, d, local, currency)
		a.groups[g] = cells
	}
	for _, c := range cells {
		if err := c.Figures.Add(f); err != nil {
			return err
		}
	}
	return nil
}

// group finds or makes the cells of the record's levels, for the day and
// month of local, in currency.
func (a *accumulator) group(org string, d dims, local time.Time, currency string) []*store.Cell {
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
	cells := make([]*store.Cell, 0, 2*len(levels))
	for _, l := range levels {
		for _, g := range [...]struct{ grain, start string }{{store.GrainDay, day}, {store.GrainMonth, month}} {
			id := cellID{org: org, CellKey: store.CellKey{Level: l.name, DimID: l.dim, Grain: g.grain, Start: g.start, Currency: currency}}
			c := a.m[id]
			if c == nil {
				c = &store.Cell{OrgID: org, CellKey: id.CellKey, ProgramID: l.program, PartnerID: l.partner}
				a.m[id] = c
				a.order = append(a.order, id)
			}
			cells = append(cells, c)
		}
	}
	return cells
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
// (nothing for an absent image), read into a slim view (views.go): the
// rollup reads every image of every change, and decoding the full records
// — their times above all — cost most of its CPU.
func (a *accumulator) image(c store.Change, img []byte, sign int64, loc *time.Location) error {
	if len(img) == 0 {
		return nil
	}
	switch c.Entity {
	case EntityClick:
		k, err := decodeView[clickView](c, img)
		if err != nil {
			return err
		}
		return a.add(c.OrgID, k.dims(), k.At, loc, "", sign, store.Figures{Clicks: 1})
	case EntityReferral:
		r, err := decodeView[referralView](c, img)
		if err != nil {
			return err
		}
		f := store.Figures{Referrals: 1}
		if r.Status == domain.ReferralConverted {
			f.ConvertedReferrals = 1
		}
		return a.add(c.OrgID, r.dims(), r.CreatedAt, loc, "", sign, f)
	case EntityConversion:
		v, err := decodeView[conversionView](c, img)
		if err != nil {
			return err
		}
		return a.conversion(c.OrgID, v, sign, loc)
	case EntityDeal:
		d, err := decodeView[dealView](c, img)
		if err != nil {
			return err
		}
		return a.deal(c.OrgID, d, sign, loc)
	case EntityCommission:
		e, err := decodeView[commissionView](c, img)
		if err != nil {
			return err
		}
		at, err := e.at()
		if err != nil {
			return decodeError(c, err)
		}
		return a.add(c.OrgID, e.dims(), at, loc, e.Amount.Currency, sign, entryFigures(e.Status, e.Amount.Amount))
	}
	return nil
}

func (a *accumulator) conversion(org string, v conversionView, sign int64, loc *time.Location) error {
	d := v.dims()
	f := store.Figures{Conversions: 1}
	if v.PartnerID != "" {
		f.PartnerConversions = 1
	}
	if err := a.add(org, d, v.OccurredAt, loc, "", sign, f); err != nil {
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
	return a.add(org, d, v.OccurredAt, loc, v.Amount.Currency, sign, m)
}

// deal: a partner deal counts as registered when created and as won, at its
// won value, when it was marked won; direct deals are not partner
// contribution and count nowhere.
func (a *accumulator) deal(org string, d dealView, sign int64, loc *time.Location) error {
	if d.PartnerID == "" || d.Source != domain.DealSourcePartner {
		return nil
	}
	at := dims{partner: d.PartnerID}
	if err := a.add(org, at, d.CreatedAt, loc, "", sign, store.Figures{DealsRegistered: 1}); err != nil {
		return err
	}
	if d.Status != domain.DealWon {
		return nil
	}
	closed, ok, err := rawTime(d.ClosedAt)
	if err != nil || !ok {
		return err
	}
	if err := a.add(org, at, closed, loc, "", sign, store.Figures{DealsWon: 1}); err != nil {
		return err
	}
	value := d.Value
	if d.WonValue != nil {
		value = *d.WonValue
	}
	return a.add(org, at, closed, loc, value.Currency, sign, store.Figures{DealValue: value.Amount})
}

// entryFigures: commission counts every entry that is not rejected or
// reversed; commissionAccrued sorts entries by status.
func entryFigures(status commission.Status, amt int64) store.Figures {
	var f store.Figures
	switch status {
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
