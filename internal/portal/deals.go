package portal

import (
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// Deal is a deal as its partner sees it in the portal: everything about
// its own registration, but not which other party's deal it collides with
// (that deal and its owner are none of the partner's business) nor which
// internal user touched it.
type Deal struct {
	ID             string            `json:"id"`
	PartnerID      string            `json:"partnerId"`
	Source         domain.DealSource `json:"source"`
	CustomerName   string            `json:"customerName"`
	CustomerDomain string            `json:"customerDomain"`
	Value          domain.Money      `json:"value"`
	Status         domain.DealStatus `json:"status"`
	// ConflictsWith is always empty here: a conflict shows as the status.
	ConflictsWith     string        `json:"conflictsWith"`
	ExclusiveUntil    *time.Time    `json:"exclusiveUntil"`
	ExpectedCloseDate *time.Time    `json:"expectedCloseDate"`
	Reason            string        `json:"reason,omitempty"`
	WonValue          *domain.Money `json:"wonValue,omitempty"`
	ClosedAt          *time.Time    `json:"closedAt"`
	CreatedAt         time.Time     `json:"createdAt"`
	UpdatedAt         time.Time     `json:"updatedAt"`
}

// DealView is d as its partner sees it.
func DealView(d domain.Deal) Deal {
	return Deal{
		ID: d.ID, PartnerID: d.PartnerID, Source: d.Source, CustomerName: d.CustomerName,
		CustomerDomain: d.CustomerDomain, Value: d.Value, Status: d.Status, ExclusiveUntil: d.ExclusiveUntil,
		ExpectedCloseDate: d.ExpectedCloseDate, Reason: d.Reason, WonValue: d.WonValue, ClosedAt: d.ClosedAt,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

// DealViews is ds as their partner sees them.
func DealViews(ds []domain.Deal) []Deal {
	out := make([]Deal, len(ds))
	for i, d := range ds {
		out[i] = DealView(d)
	}
	return out
}
