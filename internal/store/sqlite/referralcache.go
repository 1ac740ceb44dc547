package sqlite

import (
	"sync"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// convertedReferrals keeps the converted referrals GetReferral has read, so
// that a conversion of an already converted referral (a renewal, a repeat
// purchase — and every conversion after the first) reads none: a read
// transaction on a reader connection and the record's decoding were 6–12 %
// of the CPU of a conversion. Recording a conversion of one skips the
// read of its status too. A converted referral never changes — the
// only statement that changes a referral is changeReferralStatus's, which
// moves a pending or expired one and refuses to change a converted one —
// and none is ever deleted, so an entry needs no invalidation, not even for
// writes by another process. Pending and expired referrals are not kept:
// their status changes. It is bounded: when full it starts over.
type convertedReferrals struct {
	mu sync.Mutex
	m  map[referralKey]domain.Referral
}

type referralKey struct{ org, id string }

const maxConvertedReferrals = 20_000

func (c *convertedReferrals) get(orgID, id string) (domain.Referral, bool) {
	c.mu.Lock()
	r, ok := c.m[referralKey{orgID, id}]
	c.mu.Unlock()
	if ok && r.ConvertedAt != nil {
		at := *r.ConvertedAt // the caller's copy
		r.ConvertedAt = &at
	}
	return r, ok
}

// has reports whether the referral is known to be converted.
func (c *convertedReferrals) has(orgID, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[referralKey{orgID, id}]
	return ok
}

func (c *convertedReferrals) add(r domain.Referral) {
	if r.Status != domain.ReferralConverted {
		return
	}
	if r.ConvertedAt != nil {
		at := *r.ConvertedAt // not the caller's pointer
		r.ConvertedAt = &at
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxConvertedReferrals {
		c.m = make(map[referralKey]domain.Referral)
	}
	c.m[referralKey{r.OrgID, r.ID}] = r
}
