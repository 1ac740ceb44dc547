package store

import (
	"context"
	"time"
)

// MaxLogoBytes bounds a stored logo. It keeps a logo, with its few other
// attributes, well inside one DynamoDB item (400 KB), and small enough to
// travel inline in every e-mail and statement.
const MaxLogoBytes = 256 << 10

// Logo is an organization's logo image: its bytes, their media type
// ("image/png" or "image/jpeg") and a version derived from the bytes,
// which names the logo in its URL (so that URL can be cached for good).
type Logo struct {
	Data        []byte    `json:"-"`
	ContentType string    `json:"contentType"`
	Version     string    `json:"version"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Logos keep one logo per organization. The caller checks the image (its
// format, size and dimensions) before storing it; the organization's
// record names the version in effect (domain.Organization.LogoVersion).
type Logos interface {
	// PutLogo stores (or replaces) the organization's logo.
	PutLogo(ctx context.Context, orgID string, l Logo) error
	// GetLogo returns the organization's logo; ErrNotFound when it has none.
	GetLogo(ctx context.Context, orgID string) (Logo, error)
	// DeleteLogo removes the logo; removing none is not an error.
	DeleteLogo(ctx context.Context, orgID string) error
}
