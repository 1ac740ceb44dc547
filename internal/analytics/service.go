package analytics

import (
	"context"
	"errors"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Store is what the reports read: the cells, and the records that filters
// name and rows are labelled with.
type Store interface {
	store.Analytics
	ListOrganizations(ctx context.Context, p store.Page) ([]domain.Organization, string, error)
	GetOrganization(ctx context.Context, id string) (domain.Organization, error)
	GetProgram(ctx context.Context, orgID, id string) (domain.Program, error)
	GetTier(ctx context.Context, orgID, id string) (domain.PartnerTier, error)
	GetPartner(ctx context.Context, orgID, id string) (domain.Partner, error)
	GetReferrer(ctx context.Context, orgID, id string) (domain.Referrer, error)
	ListPartners(ctx context.Context, orgID string, f store.PartnerFilter, p store.Page) ([]domain.Partner, string, error)
}

// Service answers the analytics reports from the rollup cells: a report
// reads cells in proportion to the buckets of its range, never records.
type Service struct {
	st  Store
	now domain.Clock
}

// NewService returns the reports service.
func NewService(st Store, now domain.Clock) *Service { return &Service{st: st, now: now} }

// Filter narrows a report to a program, a partner tier (the partners in it
// today), a partner or a referrer; empty fields match everything.
type Filter struct {
	ProgramID     string
	PartnerTierID string
	PartnerID     string
	ReferrerID    string
}

// Query is a report's range (as given: dates or instants) and filter.
type Query struct {
	From, To string
	Filter
}

// ErrNotReady is answered while an organization's cells are being built
// for the first time (a fresh installation, for at most a few seconds).
var ErrNotReady = domain.Errorf(domain.KindUnavailable, "analytics_not_ready",
	"analytics are being prepared for this organization; try again in a few seconds")

// selection is which cells a filter reads.
type selection struct {
	level string
	dims  []string // nil: every value of the level
	// attribute filters of referrer cells
	programID  string
	partnerIDs []string
	// none: the filter matches nothing (a tier without partners, a
	// referrer outside the program asked for)
	none bool
}

// report is a resolved query: its zone, range, cells and freshness.
type report struct {
	state store.AnalyticsState
	rng   Range
	sel   selection
}

// prepare validates q for org: the zone the cells are in, the range, and
// the filter's records (unknown or another organization's: 404).
func (s *Service) prepare(ctx context.Context, orgID string, q Query) (report, error) {
	st, err := s.st.AnalyticsState(ctx, orgID)
	if err != nil {
		return report{}, err
	}
	if st.TimeZone == "" {
		return report{}, ErrNotReady
	}
	loc, err := zoneOf(st.TimeZone)
	if err != nil {
		return report{}, err
	}
	rng, err := ParseRange(q.From, q.To, loc, s.now())
	if err != nil {
		return report{}, err
	}
	sel, err := s.resolve(ctx, orgID, q.Filter)
	if err != nil {
		return report{}, err
	}
	return report{state: st, rng: rng, sel: sel}, nil
}

func notFoundAs(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return domain.NotFound(what)
	}
	return err
}

// resolve checks the filter's records and picks the cells that answer it.
func (s *Service) resolve(ctx context.Context, orgID string, f Filter) (selection, error) {
	if f.ProgramID != "" {
		if _, err := s.st.GetProgram(ctx, orgID, f.ProgramID); err != nil {
			return selection{}, notFoundAs(err, "program")
		}
	}
	var partners []string // nil: no partner filter
	if f.PartnerTierID != "" {
		if _, err := s.st.GetTier(ctx, orgID, f.PartnerTierID); err != nil {
			return selection{}, notFoundAs(err, "partner tier")
		}
		ps, err := s.partnerIDs(ctx, orgID, store.PartnerFilter{TierID: f.PartnerTierID})
		if err != nil {
			return selection{}, err
		}
		partners = ps
	}
	if f.PartnerID != "" {
		if _, err := s.st.GetPartner(ctx, orgID, f.PartnerID); err != nil {
			return selection{}, notFoundAs(err, "partner")
		}
		if partners != nil && !contains(partners, f.PartnerID) {
			return selection{none: true}, nil
		}
		partners = []string{f.PartnerID}
	}
	if f.ReferrerID != "" {
		ref, err := s.st.GetReferrer(ctx, orgID, f.ReferrerID)
		if err != nil {
			return selection{}, notFoundAs(err, "referrer")
		}
		if (f.ProgramID != "" && ref.ProgramID != f.ProgramID) || (partners != nil && !contains(partners, ref.PartnerID)) {
			return selection{none: true}, nil
		}
		return selection{level: store.LevelReferrer, dims: []string{ref.ID}}, nil
	}
	if partners != nil && len(partners) == 0 {
		return selection{none: true}, nil
	}
	switch {
	case f.ProgramID != "" && partners != nil:
		dims := make([]string, len(partners))
		for i, p := range partners {
			dims[i] = store.ProgramPartnerDim(f.ProgramID, p)
		}
		return selection{level: store.LevelProgramPartner, dims: dims, programID: f.ProgramID, partnerIDs: partners}, nil
	case f.ProgramID != "":
		return selection{level: store.LevelProgram, dims: []string{f.ProgramID}, programID: f.ProgramID}, nil
	case partners != nil:
		return selection{level: store.LevelPartner, dims: partners, partnerIDs: partners}, nil
	}
	return selection{level: store.LevelOrg, dims: []string{""}}, nil
}

// partnerIDs lists the IDs of the organization's partners f selects (a
// tier's: the partners in it today).
func (s *Service) partnerIDs(ctx context.Context, orgID string, f store.PartnerFilter) ([]string, error) {
	ids := []string{}
	page := store.Page{Limit: store.MaxLimit}
	for {
		ps, next, err := s.st.ListPartners(ctx, orgID, f, page)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		if next == "" {
			return ids, nil
		}
		page.Cursor = next
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// totals are figures per currency ("" holds the counts).
type totals map[string]*store.Figures

func (t totals) add(c store.Cell) error {
	f := t[c.Currency]
	if f == nil {
		f = &store.Figures{}
		t[c.Currency] = f
	}
	return f.Add(c.Figures)
}

func (t totals) counts() store.Figures {
	if f := t[""]; f != nil {
		return *f
	}
	return store.Figures{}
}

// money lists one figure per currency, sorted by currency, leaving out
// zeros.
func (t totals) money(pick func(store.Figures) int64) []domain.Money {
	out := []domain.Money{}
	for cur, f := range t {
		if cur == "" {
			continue
		}
		if v := pick(*f); v != 0 {
			out = append(out, domain.Money{Amount: v, Currency: cur})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// referrerFigures are the figures a top-referrers row shows.
var referrerFigures = []string{"clicks", "referrals", "conversions", "revenue", "commission"}

// sum reads the cells of sel over the range, grouped as asked, merging the
// spans of the range (whole months at month grain, ends at day grain).
func (s *Service) sum(ctx context.Context, orgID string, rng Range, sel selection, groupBy string) ([]store.Cell, error) {
	return s.sumFigures(ctx, orgID, rng, sel, groupBy, nil)
}

// sumFigures is sum of only the figures named (nil: all).
func (s *Service) sumFigures(ctx context.Context, orgID string, rng Range, sel selection, groupBy string, figures []string) ([]store.Cell, error) {
	if sel.none {
		return nil, nil
	}
	var out []store.Cell
	for _, sp := range spans(rng) {
		cells, err := s.st.SumCells(ctx, store.CellQuery{
			OrgID: orgID, Level: sel.level, DimIDs: sel.dims, Grain: sp.grain, From: sp.from.String(), To: sp.to.String(),
			ProgramID: attrProgram(sel), PartnerIDs: attrPartners(sel), Figures: figures, GroupBy: groupBy,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, cells...)
	}
	return out, nil
}

// attrProgram and attrPartners narrow cells by their attributes where the
// level's dimension does not already (referrer cells in top lists).
func attrProgram(sel selection) string {
	if sel.level == store.LevelReferrer {
		return sel.programID
	}
	return ""
}

func attrPartners(sel selection) []string {
	if sel.level == store.LevelReferrer {
		return sel.partnerIDs
	}
	return nil
}

// Summary is the headline report (ANALYTICS.md, "The figures").
type Summary struct {
	Clicks              int64          `json:"clicks"`
	TotalReferrals      int64          `json:"totalReferrals"`
	ConvertedReferrals  int64          `json:"convertedReferrals"`
	ConversionRate      float64        `json:"conversionRate"`
	Conversions         int64          `json:"conversions"`
	Revenue             []domain.Money `json:"revenue"`
	Commission          []domain.Money `json:"commission"`
	CommissionAccrued   Accrued        `json:"commissionAccrued"`
	PartnerContribution Contribution   `json:"partnerContribution"`
	EPC                 []domain.Money `json:"epc"`
	AsOf                time.Time      `json:"asOf"`
	TimeZone            string         `json:"timeZone"`
	From                Date           `json:"from"`
	To                  Date           `json:"to"`
	Previous            *Summary       `json:"previous,omitempty"`
}

// Accrued is the range's ledger entries by their status now.
type Accrued struct {
	Pending  []domain.Money `json:"pending"`
	Approved []domain.Money `json:"approved"`
	Paid     []domain.Money `json:"paid"`
	Reversed []domain.Money `json:"reversed"`
}

// Contribution is what partners brought in the range.
type Contribution struct {
	DealsRegistered int64          `json:"dealsRegistered"`
	DealCount       int64          `json:"dealCount"`
	DealValue       []domain.Money `json:"dealValue"`
	Conversions     int64          `json:"conversions"`
	Revenue         []domain.Money `json:"revenue"`
}

// Summary reports the figures of q's range for org, and with compare those
// of the range of the same length just before it.
func (s *Service) Summary(ctx context.Context, orgID string, q Query, compare bool) (Summary, error) {
	rp, err := s.prepare(ctx, orgID, q)
	if err != nil {
		return Summary{}, err
	}
	return s.summary(ctx, orgID, rp, compare, epcOfRevenue)
}

// epcOf picks the money an earnings-per-click figure divides: revenue on
// staff reports, the partner's own commission in the portal.
type epcOf func(store.Figures) int64

func epcOfRevenue(f store.Figures) int64    { return f.Revenue }
func epcOfCommission(f store.Figures) int64 { return f.Commission }

func (s *Service) summary(ctx context.Context, orgID string, rp report, compare bool, epc epcOf) (Summary, error) {
	out, err := s.summarize(ctx, orgID, rp, rp.rng, epc)
	if err != nil {
		return Summary{}, err
	}
	if compare {
		prev, err := s.summarize(ctx, orgID, rp, rp.rng.Previous(), epc)
		if err != nil {
			return Summary{}, err
		}
		out.Previous = &prev
	}
	return out, nil
}

func (s *Service) summarize(ctx context.Context, orgID string, rp report, rng Range, epc epcOf) (Summary, error) {
	cells, err := s.sum(ctx, orgID, rng, rp.sel, store.GroupByNone)
	if err != nil {
		return Summary{}, err
	}
	t := totals{}
	for _, c := range cells {
		if err := t.add(c); err != nil {
			return Summary{}, err
		}
	}
	n := t.counts()
	return Summary{
		Clicks: n.Clicks, TotalReferrals: n.Referrals, ConvertedReferrals: n.ConvertedReferrals,
		ConversionRate: Rate(n.ConvertedReferrals, n.Referrals), Conversions: n.Conversions,
		Revenue:    t.money(func(f store.Figures) int64 { return f.Revenue }),
		Commission: t.money(func(f store.Figures) int64 { return f.Commission }),
		CommissionAccrued: Accrued{
			Pending:  t.money(func(f store.Figures) int64 { return f.Pending }),
			Approved: t.money(func(f store.Figures) int64 { return f.Approved }),
			Paid:     t.money(func(f store.Figures) int64 { return f.Paid }),
			Reversed: t.money(func(f store.Figures) int64 { return f.Reversed }),
		},
		PartnerContribution: Contribution{
			DealsRegistered: n.DealsRegistered, DealCount: n.DealsWon,
			DealValue:   t.money(func(f store.Figures) int64 { return f.DealValue }),
			Conversions: n.PartnerConversions,
			Revenue:     t.money(func(f store.Figures) int64 { return f.PartnerRevenue }),
		},
		EPC:      EPC(t.money(epc), n.Clicks),
		AsOf:     rp.state.AsOf.UTC(),
		TimeZone: rp.state.TimeZone,
		From:     rng.From, To: rng.To,
	}, nil
}

// Rate is num/den rounded half away from zero to 4 places; 0 when den is 0.
func Rate(num, den int64) float64 {
	if den == 0 {
		return 0
	}
	return float64(divRound(big.NewInt(num), big.NewInt(10000), big.NewInt(den))) / 10000
}

// EPC divides each amount by clicks in minor units, rounded half away from
// zero; with no clicks there is no figure (an empty list).
func EPC(amounts []domain.Money, clicks int64) []domain.Money {
	out := []domain.Money{}
	if clicks == 0 {
		return out
	}
	for _, m := range amounts {
		out = append(out, domain.Money{Amount: divRound(big.NewInt(m.Amount), big.NewInt(1), big.NewInt(clicks)), Currency: m.Currency})
	}
	return out
}

// divRound is a×b/c rounded half away from zero (c > 0), exactly.
func divRound(a, b, c *big.Int) int64 {
	num := new(big.Int).Mul(a, b)
	q, r := new(big.Int).QuoRem(num, c, new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(c) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}

// Point is one bucket of a time series.
type Point struct {
	Start       time.Time      `json:"start"`
	Clicks      int64          `json:"clicks"`
	Referrals   int64          `json:"referrals"`
	Conversions int64          `json:"conversions"`
	Revenue     []domain.Money `json:"revenue"`
	Commission  []domain.Money `json:"commission"`
}

// Series is a time series report.
type Series struct {
	Interval string    `json:"interval"`
	TimeZone string    `json:"timeZone"`
	From     Date      `json:"from"`
	To       Date      `json:"to"`
	AsOf     time.Time `json:"asOf"`
	Points   []Point   `json:"points"`
}

// Timeseries reports one point per interval bucket (day, week starting
// Monday, or month of the zone) that the range touches, empty buckets as
// zeros; a point counts only the days of its bucket inside the range, and
// starts at its bucket's first instant in the zone.
func (s *Service) Timeseries(ctx context.Context, orgID string, q Query, interval string) (Series, error) {
	if err := validInterval(interval); err != nil {
		return Series{}, err
	}
	rp, err := s.prepare(ctx, orgID, q)
	if err != nil {
		return Series{}, err
	}
	return s.series(ctx, orgID, rp, interval)
}

func validInterval(interval string) error {
	switch interval {
	case IntervalDay, IntervalWeek, IntervalMonth:
		return nil
	}
	return &domain.Error{Kind: domain.KindInvalid, Code: "invalid_query", Message: "the query is not valid",
		Fields: []domain.FieldError{{Field: "interval", Message: "must be day, week or month"}}}
}

func (s *Service) series(ctx context.Context, orgID string, rp report, interval string) (Series, error) {
	rng := rp.rng
	// Cells are read at the coarsest grain that fits the buckets: months
	// for a monthly series (day cells at partial ends), days otherwise.
	var cells []store.Cell
	var err error
	if interval == IntervalMonth {
		cells, err = s.sum(ctx, orgID, rng, rp.sel, store.GroupByStart)
	} else if !rp.sel.none {
		cells, err = s.st.SumCells(ctx, store.CellQuery{
			OrgID: orgID, Level: rp.sel.level, DimIDs: rp.sel.dims, Grain: store.GrainDay,
			From: rng.From.String(), To: rng.To.String(), GroupBy: store.GroupByStart,
		})
	}
	if err != nil {
		return Series{}, err
	}
	byBucket := map[Date]totals{}
	for _, c := range cells {
		d, err := ParseDate(c.Start)
		if err != nil {
			return Series{}, err
		}
		b := bucketStart(d, interval)
		if byBucket[b] == nil {
			byBucket[b] = totals{}
		}
		if err := byBucket[b].add(c); err != nil {
			return Series{}, err
		}
	}
	out := Series{Interval: interval, TimeZone: rp.state.TimeZone, From: rng.From, To: rng.To, AsOf: rp.state.AsOf.UTC(), Points: []Point{}}
	for b := bucketStart(rng.From, interval); !b.After(rng.To); b = nextBucket(b, interval) {
		t := byBucket[b]
		if t == nil {
			t = totals{}
		}
		n := t.counts()
		out.Points = append(out.Points, Point{
			Start: b.Start(rng.Loc), Clicks: n.Clicks, Referrals: n.Referrals, Conversions: n.Conversions,
			Revenue:    t.money(func(f store.Figures) int64 { return f.Revenue }),
			Commission: t.money(func(f store.Figures) int64 { return f.Commission }),
		})
	}
	return out, nil
}

// Orderings of the top lists.
const (
	ByClicks      = "clicks"
	ByReferrals   = "referrals"
	ByConversions = "conversions"
	ByRevenue     = "revenue"
	ByCommission  = "commission"
)

func validBy(by string) error {
	switch by {
	case ByClicks, ByReferrals, ByConversions, ByRevenue, ByCommission:
		return nil
	}
	return &domain.Error{Kind: domain.KindInvalid, Code: "invalid_query", Message: "the query is not valid",
		Fields: []domain.FieldError{{Field: "by", Message: "must be clicks, referrals, conversions, revenue or commission"}}}
}

// ReferrerRow is one referrer's figures in the range.
type ReferrerRow struct {
	ReferrerID  string         `json:"referrerId"`
	Name        string         `json:"name"`
	ProgramID   string         `json:"programId"`
	PartnerID   string         `json:"partnerId"`
	Clicks      int64          `json:"clicks"`
	Referrals   int64          `json:"referrals"`
	Conversions int64          `json:"conversions"`
	Revenue     []domain.Money `json:"revenue"`
	Commission  []domain.Money `json:"commission"`
}

// TopList is a ranked report.
type TopList[T any] struct {
	Items    []T       `json:"items"`
	By       string    `json:"by"`
	TimeZone string    `json:"timeZone"`
	From     Date      `json:"from"`
	To       Date      `json:"to"`
	AsOf     time.Time `json:"asOf"`
}

// perDim sums cells by dimension value and currency.
func perDim(cells []store.Cell) (map[string]totals, map[string]store.Cell, error) {
	by := map[string]totals{}
	attrs := map[string]store.Cell{}
	for _, c := range cells {
		if by[c.DimID] == nil {
			by[c.DimID] = totals{}
			attrs[c.DimID] = c
		}
		if err := by[c.DimID].add(c); err != nil {
			return nil, nil, err
		}
	}
	return by, attrs, nil
}

// rankKey is what a row sorts by: a count, or for money the amount in the
// currency the ranking uses.
func rankKey(t totals, by, currency string) int64 {
	n := t.counts()
	switch by {
	case ByClicks:
		return n.Clicks
	case ByReferrals:
		return n.Referrals
	case ByConversions:
		return n.Conversions
	}
	f := t[currency]
	if f == nil {
		return 0
	}
	if by == ByRevenue {
		return f.Revenue
	}
	return f.Commission
}

// rankCurrency is the currency money rankings compare in: the one asked
// for, else the one with the largest total of the ranked figure (ties: the
// first code), so a ranking never adds amounts of different currencies.
func rankCurrency(all map[string]totals, by, asked string) string {
	if asked != "" || (by != ByRevenue && by != ByCommission) {
		return asked
	}
	sums := map[string]*big.Int{}
	for _, t := range all {
		for cur, f := range t {
			if cur == "" {
				continue
			}
			v := f.Revenue
			if by == ByCommission {
				v = f.Commission
			}
			if sums[cur] == nil {
				sums[cur] = new(big.Int)
			}
			sums[cur].Add(sums[cur], big.NewInt(v))
		}
	}
	best := ""
	for cur, v := range sums {
		if best == "" || v.Cmp(sums[best]) > 0 || (v.Cmp(sums[best]) == 0 && cur < best) {
			best = cur
		}
	}
	return best
}

// rank orders ids by key descending, ties by ID ascending.
func rank(ids []string, key func(string) int64) {
	sort.Slice(ids, func(i, j int) bool {
		ki, kj := key(ids[i]), key(ids[j])
		if ki != kj {
			return ki > kj
		}
		return ids[i] < ids[j]
	})
}

// TopReferrers ranks the referrers with activity in the range by the
// figure by (conversions when empty), ties by referrer ID; limit bounds
// the list. Money rankings compare in currency (default: the currency
// with the largest total).
func (s *Service) TopReferrers(ctx context.Context, orgID string, q Query, by, currency string, limit int) (TopList[ReferrerRow], error) {
	if by == "" {
		by = ByConversions
	}
	if err := validBy(by); err != nil {
		return TopList[ReferrerRow]{}, err
	}
	rp, err := s.prepare(ctx, orgID, q)
	if err != nil {
		return TopList[ReferrerRow]{}, err
	}
	sel := rp.sel
	if !sel.none && sel.level != store.LevelReferrer {
		// Every referrer of the selection, narrowed by its attributes.
		sel = selection{level: store.LevelReferrer, programID: q.ProgramID, partnerIDs: sel.partnerIDs}
	}
	cells, err := s.sumFigures(ctx, orgID, rp.rng, sel, store.GroupByDim, referrerFigures)
	if err != nil {
		return TopList[ReferrerRow]{}, err
	}
	by2, attrs, err := perDim(cells)
	if err != nil {
		return TopList[ReferrerRow]{}, err
	}
	cur := rankCurrency(by2, by, strings.ToUpper(currency))
	ids := make([]string, 0, len(by2))
	for id := range by2 {
		ids = append(ids, id)
	}
	rank(ids, func(id string) int64 { return rankKey(by2[id], by, cur) })
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := TopList[ReferrerRow]{Items: []ReferrerRow{}, By: by, TimeZone: rp.state.TimeZone, From: rp.rng.From, To: rp.rng.To, AsOf: rp.state.AsOf.UTC()}
	for _, id := range ids {
		t := by2[id]
		n := t.counts()
		row := ReferrerRow{
			ReferrerID: id, ProgramID: attrs[id].ProgramID, PartnerID: attrs[id].PartnerID,
			Clicks: n.Clicks, Referrals: n.Referrals, Conversions: n.Conversions,
			Revenue:    t.money(func(f store.Figures) int64 { return f.Revenue }),
			Commission: t.money(func(f store.Figures) int64 { return f.Commission }),
		}
		if ref, err := s.st.GetReferrer(ctx, orgID, id); err == nil {
			row.Name, row.ProgramID, row.PartnerID = ref.Name, ref.ProgramID, ref.PartnerID
		} else if !errors.Is(err, store.ErrNotFound) {
			return TopList[ReferrerRow]{}, err
		}
		out.Items = append(out.Items, row)
	}
	return out, nil
}

// PartnerRow is one partner's contribution in the range.
type PartnerRow struct {
	PartnerID       string         `json:"partnerId"`
	CompanyName     string         `json:"companyName"`
	TierID          string         `json:"tierId"`
	Clicks          int64          `json:"clicks"`
	Referrals       int64          `json:"referrals"`
	Conversions     int64          `json:"conversions"`
	Revenue         []domain.Money `json:"revenue"`
	DealsRegistered int64          `json:"dealsRegistered"`
	DealCount       int64          `json:"dealCount"`
	DealValue       []domain.Money `json:"dealValue"`
	Commission      []domain.Money `json:"commission"`
	EPC             []domain.Money `json:"epc"`
}

// Partners reports one row per partner the filter selects (every partner
// of the organization without one), ranked like TopReferrers.
func (s *Service) Partners(ctx context.Context, orgID string, q Query, by, currency string, limit int) (TopList[PartnerRow], error) {
	if by == "" {
		by = ByConversions
	}
	if err := validBy(by); err != nil {
		return TopList[PartnerRow]{}, err
	}
	rp, err := s.prepare(ctx, orgID, q)
	if err != nil {
		return TopList[PartnerRow]{}, err
	}
	partners, err := s.selectedPartners(ctx, orgID, q.Filter, rp.sel)
	if err != nil {
		return TopList[PartnerRow]{}, err
	}
	// The cells that split the selection by partner: referrer cells for one
	// referrer, program × partner cells within a program, else partner cells.
	sel := rp.sel
	key := func(c store.Cell) string { return c.DimID }
	switch {
	case sel.none:
	case sel.level == store.LevelReferrer:
		key = func(c store.Cell) string { return c.PartnerID }
	case q.ProgramID != "":
		sel = selection{level: store.LevelProgramPartner, dims: programPartnerDims(q.ProgramID, partners)}
		key = func(c store.Cell) string { _, p, _ := strings.Cut(c.DimID, "/"); return p }
	default:
		sel = selection{level: store.LevelPartner, dims: partners}
	}
	if len(partners) == 0 {
		sel.none = true
	}
	cells, err := s.sum(ctx, orgID, rp.rng, sel, store.GroupByDim)
	if err != nil {
		return TopList[PartnerRow]{}, err
	}
	for i := range cells {
		cells[i].DimID = key(cells[i])
	}
	by2, _, err := perDim(cells)
	if err != nil {
		return TopList[PartnerRow]{}, err
	}
	for _, p := range partners {
		if by2[p] == nil {
			by2[p] = totals{}
		}
	}
	cur := rankCurrency(by2, by, strings.ToUpper(currency))
	ids := append([]string(nil), partners...)
	rank(ids, func(id string) int64 { return rankKey(by2[id], by, cur) })
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := TopList[PartnerRow]{Items: []PartnerRow{}, By: by, TimeZone: rp.state.TimeZone, From: rp.rng.From, To: rp.rng.To, AsOf: rp.state.AsOf.UTC()}
	for _, id := range ids {
		p, err := s.st.GetPartner(ctx, orgID, id)
		if err != nil {
			return TopList[PartnerRow]{}, err
		}
		t := by2[id]
		n := t.counts()
		revenue := t.money(func(f store.Figures) int64 { return f.Revenue })
		out.Items = append(out.Items, PartnerRow{
			PartnerID: id, CompanyName: p.CompanyName, TierID: p.TierID,
			Clicks: n.Clicks, Referrals: n.Referrals, Conversions: n.Conversions, Revenue: revenue,
			DealsRegistered: n.DealsRegistered, DealCount: n.DealsWon,
			DealValue:  t.money(func(f store.Figures) int64 { return f.DealValue }),
			Commission: t.money(func(f store.Figures) int64 { return f.Commission }),
			EPC:        EPC(revenue, n.Clicks),
		})
	}
	return out, nil
}

func programPartnerDims(programID string, partners []string) []string {
	out := make([]string, len(partners))
	for i, p := range partners {
		out[i] = store.ProgramPartnerDim(programID, p)
	}
	return out
}

// selectedPartners lists the partners a partners report has rows for.
func (s *Service) selectedPartners(ctx context.Context, orgID string, f Filter, sel selection) ([]string, error) {
	if sel.none {
		return []string{}, nil
	}
	if sel.level == store.LevelReferrer {
		ref, err := s.st.GetReferrer(ctx, orgID, f.ReferrerID)
		if err != nil {
			return nil, err
		}
		if ref.PartnerID == "" {
			return []string{}, nil
		}
		return []string{ref.PartnerID}, nil
	}
	if sel.partnerIDs != nil {
		return sel.partnerIDs, nil
	}
	return s.partnerIDs(ctx, orgID, store.PartnerFilter{})
}

// PortalQuery is what a partner may ask of its own analytics: a range and
// one of its programs; nothing that reaches another partner.
type PortalQuery struct {
	From, To  string
	ProgramID string
}

// PortalSummary is Summary for one partner's own activity (its referrers,
// its deals, its own ledger entries); its epc is the partner's commission
// per click.
func (s *Service) PortalSummary(ctx context.Context, orgID, partnerID string, q PortalQuery, compare bool) (Summary, error) {
	rp, err := s.prepare(ctx, orgID, Query{From: q.From, To: q.To, Filter: Filter{ProgramID: q.ProgramID, PartnerID: partnerID}})
	if err != nil {
		return Summary{}, err
	}
	return s.summary(ctx, orgID, rp, compare, epcOfCommission)
}

// PortalTimeseries is Timeseries for one partner's own activity.
func (s *Service) PortalTimeseries(ctx context.Context, orgID, partnerID string, q PortalQuery, interval string) (Series, error) {
	if err := validInterval(interval); err != nil {
		return Series{}, err
	}
	rp, err := s.prepare(ctx, orgID, Query{From: q.From, To: q.To, Filter: Filter{ProgramID: q.ProgramID, PartnerID: partnerID}})
	if err != nil {
		return Series{}, err
	}
	return s.series(ctx, orgID, rp, interval)
}
