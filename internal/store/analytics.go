package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Analytics rollups. A cell is one pre-aggregated bucket: an organization,
// a level of detail (the whole organization, one program, partner,
// referrer, or a program × partner pair), a grain (a local day or a local
// month of the organization's time zone) starting on Start, and a currency
// ("" for the counts; one cell per currency for the money figures).
//
// Cells only ever change by adding deltas computed from record changes
// (FoldFunc), applied exactly once per change by the adapter: the SQLite
// adapter reads its outbox behind a cursor kept in the same transaction as
// the cells; the DynamoDB adapter reads the table's stream behind
// per-shard checkpoints (see docs/dynamodb.md).

// Levels of detail of the cells.
const (
	LevelOrg            = "org"
	LevelProgram        = "program"
	LevelPartner        = "partner"
	LevelReferrer       = "referrer"
	LevelProgramPartner = "program_partner"
)

// Grains of the cells: Start is the local date that begins the bucket
// ("2026-03-01" for the day, and for the month of March).
const (
	GrainDay   = "day"
	GrainMonth = "month"
)

// DateLayout is the layout of Start and of the dates in queries.
const DateLayout = "2006-01-02"

// CellKey identifies a cell within its organization.
type CellKey struct {
	Level    string `json:"level"`
	DimID    string `json:"dimId"` // "" at LevelOrg; "<programId>/<partnerId>" at LevelProgramPartner
	Grain    string `json:"grain"`
	Start    string `json:"start"`
	Currency string `json:"currency"` // "" for the counts
}

// ProgramPartnerDim is the DimID of a program × partner cell.
func ProgramPartnerDim(programID, partnerID string) string { return programID + "/" + partnerID }

// Figures are a cell's sums. Counts are kept in the cell without a
// currency, money (minor units) in the cells of their currency.
type Figures struct {
	Clicks             int64 `json:"clicks,omitempty"`
	Referrals          int64 `json:"referrals,omitempty"`
	ConvertedReferrals int64 `json:"convertedReferrals,omitempty"`
	Conversions        int64 `json:"conversions,omitempty"`
	PartnerConversions int64 `json:"partnerConversions,omitempty"`
	DealsRegistered    int64 `json:"dealsRegistered,omitempty"`
	DealsWon           int64 `json:"dealsWon,omitempty"`

	Revenue        int64 `json:"revenue,omitempty"`
	PartnerRevenue int64 `json:"partnerRevenue,omitempty"`
	Commission     int64 `json:"commission,omitempty"`
	Pending        int64 `json:"pending,omitempty"`
	Approved       int64 `json:"approved,omitempty"`
	Paid           int64 `json:"paid,omitempty"`
	Reversed       int64 `json:"reversed,omitempty"`
	DealValue      int64 `json:"dealValue,omitempty"`
}

// FigureNames are the figures in a fixed order: the column names of the
// adapters and the order of Values.
var FigureNames = []string{
	"clicks", "referrals", "converted_referrals", "conversions", "partner_conversions", "deals_registered", "deals_won",
	"revenue", "partner_revenue", "commission", "accrued_pending", "accrued_approved", "accrued_paid", "accrued_reversed", "deal_value",
}

// Values returns pointers to the figures in FigureNames order.
func (f *Figures) Values() []*int64 {
	return []*int64{
		&f.Clicks, &f.Referrals, &f.ConvertedReferrals, &f.Conversions, &f.PartnerConversions, &f.DealsRegistered, &f.DealsWon,
		&f.Revenue, &f.PartnerRevenue, &f.Commission, &f.Pending, &f.Approved, &f.Paid, &f.Reversed, &f.DealValue,
	}
}

// IsZero reports whether every figure is 0.
func (f Figures) IsZero() bool { return f == Figures{} }

// ErrOverflow is returned when a sum of figures would leave int64: totals
// fail loudly instead of wrapping around.
var ErrOverflow = fmt.Errorf("store: analytics sum overflows int64")

// Add adds g to f, field by field, failing with ErrOverflow (f unchanged)
// when any sum would not fit.
func (f *Figures) Add(g Figures) error {
	sum := *f
	dst, src := sum.Values(), g.Values()
	for i := range dst {
		a, b := *dst[i], *src[i]
		if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
			return ErrOverflow
		}
		*dst[i] = a + b
	}
	*f = sum
	return nil
}

// Neg returns -f.
func (f Figures) Neg() Figures {
	out := f
	for _, p := range out.Values() {
		*p = -*p
	}
	return out
}

// Cell is a cell's key and figures. ProgramID and PartnerID are the
// referrer's program and partner on referrer cells (and the pair's on
// program × partner cells), so top lists can be narrowed without looking
// referrers up.
type Cell struct {
	OrgID string `json:"organizationId"`
	CellKey
	ProgramID string `json:"programId,omitempty"`
	PartnerID string `json:"partnerId,omitempty"`
	Figures
}

// FoldFunc turns record changes into the deltas they make to the cells of
// their organizations, in the time zone zone gives for each organization.
// It is pure: the same changes give the same deltas. Changes of entities
// analytics do not count give nothing. The adapters pass the changes of
// organizations whose cells exist only (zone never fails for them).
type FoldFunc func(changes []Change, zone func(orgID string) *time.Location) ([]Cell, error)

// CellQuery selects cells of one organization, level and grain whose
// Start is within [From, To] (dates, inclusive).
type CellQuery struct {
	OrgID string
	Level string
	// DimIDs selects these dimension values; nil selects every one.
	DimIDs []string
	Grain  string
	From   string
	To     string
	// ProgramID and PartnerIDs narrow referrer (and program × partner)
	// cells by their attributes; empty matches every one.
	ProgramID  string
	PartnerIDs []string
	// Figures names the figures to sum (of FigureNames); nil sums them
	// all. The others are left 0: a report that needs a few figures of
	// many cells (top referrers) reads less.
	Figures []string
	// GroupBy sums the selected cells per (Start, Currency)
	// (GroupByStart), per (DimID, Currency) (GroupByDim), or per Currency
	// (GroupByNone). Summed cells keep the grouped fields only (and the
	// attributes when grouped by dimension).
	GroupBy string
}

// Groupings of SumCells.
const (
	GroupByNone  = "none"
	GroupByStart = "start"
	GroupByDim   = "dim"
)

// AnalyticsState is how far an organization's cells are built.
type AnalyticsState struct {
	OrgID string
	// TimeZone is the zone the cells are bucketed in; "" while they have
	// not been built yet.
	TimeZone string
	// AsOf is the instant up to which every recorded change is in the
	// cells (the zero time: not built yet).
	AsOf time.Time
}

// RollUpResult describes one RollUp call.
type RollUpResult struct {
	Changes  int       // changes read from the feed
	Cells    int       // cell deltas applied
	CaughtUp bool      // the feed had nothing more
	AsOf     time.Time // the feed's position in time after the call
}

// Analytics is implemented by stores that keep analytics rollups.
type Analytics interface {
	// RollUp reads up to limit changes the cells do not include yet, asks
	// fold for their deltas and applies them together with the feed's new
	// position, so that every change is applied exactly once however often
	// it is read and however many RollUps run at once.
	RollUp(ctx context.Context, limit int, fold FoldFunc) (RollUpResult, error)
	// PendingRebuilds lists the organizations whose cells must be built
	// from their records: never built, or built in another time zone than
	// the organization's.
	PendingRebuilds(ctx context.Context) ([]domain.Organization, error)
	// RebuildAnalytics replaces every cell of org with a recount of its
	// records in org's time zone (fold over each record as an INSERT), so
	// that the feed then continues from exactly the state recounted.
	RebuildAnalytics(ctx context.Context, org domain.Organization, fold FoldFunc) error
	// HealAnalytics recounts org's day cells of the local days from..to
	// (inclusive dates in the zone the cells are in) from the records, and
	// corrects the cells (and their months) by any difference: a change the
	// feed lost heals. It returns how many cells it corrected.
	HealAnalytics(ctx context.Context, orgID, from, to string, fold FoldFunc) (int, error)
	// SumCells sums the cells q selects, grouped by q.GroupBy.
	SumCells(ctx context.Context, q CellQuery) ([]Cell, error)
	// AnalyticsState says how far org's cells are built.
	AnalyticsState(ctx context.Context, orgID string) (AnalyticsState, error)
}

// ValidDate reports whether s is a date in DateLayout.
func ValidDate(s string) bool {
	t, err := time.Parse(DateLayout, s)
	return err == nil && t.Format(DateLayout) == s
}
