package identity

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/mail"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Logo media types: what the portal, e-mails and statement PDFs can all
// show.
const (
	LogoPNG  = "image/png"
	LogoJPEG = "image/jpeg"
)

// logoSignature is the first bytes of each accepted format. The web UI
// decodes an upload fully (dimensions, re-encoding) before it gets here;
// this check keeps any other caller from storing what is not an image of
// the type it claims, without linking image decoders into the functions
// that import this package.
var logoSignature = map[string][]byte{
	LogoPNG:  []byte("\x89PNG\r\n\x1a\n"),
	LogoJPEG: {0xff, 0xd8, 0xff},
}

// logos is the store's logos, nil when it keeps none.
func (s *Service) logos() store.Logos {
	l, _ := s.store.(store.Logos)
	return l
}

// LogosAvailable reports whether the store keeps logos.
func (s *Service) LogosAvailable() bool { return s.logos() != nil }

// logoVersion names a logo: a digest of the organization and the image,
// so the URL that carries it changes whenever the image does and cannot
// be guessed without the image.
func logoVersion(orgID string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(orgID))
	h.Write([]byte{0})
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// SetLogo stores data (contentType LogoPNG or LogoJPEG, at most
// store.MaxLogoBytes) as the caller's organization's logo and points the
// organization at it.
func (s *Service) SetLogo(ctx context.Context, p Principal, data []byte, contentType string) (domain.Organization, error) {
	ls := s.logos()
	if ls == nil {
		return domain.Organization{}, domain.Errorf(domain.KindUnavailable, "logos_unavailable", "this installation keeps no logos")
	}
	sig, ok := logoSignature[contentType]
	switch {
	case !ok || !bytes.HasPrefix(data, sig):
		return domain.Organization{}, &domain.Error{Kind: domain.KindInvalid, Code: "validation_failed", Message: "the logo is not a PNG or JPEG image",
			Fields: []domain.FieldError{{Field: "logo", Message: "must be a PNG or JPEG image"}}}
	case len(data) > store.MaxLogoBytes:
		return domain.Organization{}, &domain.Error{Kind: domain.KindInvalid, Code: "validation_failed", Message: "the logo is too large",
			Fields: []domain.FieldError{{Field: "logo", Message: "must be at most 256 KB"}}}
	}
	l := store.Logo{Data: data, ContentType: contentType, Version: logoVersion(p.OrgID, data), UpdatedAt: s.now()}
	if err := ls.PutLogo(ctx, p.OrgID, l); err != nil {
		return domain.Organization{}, err
	}
	return s.changeOrganization(ctx, p.OrgID, func(o domain.Organization) (domain.Organization, error) {
		o.LogoVersion, o.UpdatedAt = l.Version, l.UpdatedAt
		return o, nil
	})
}

// RemoveLogo removes the caller's organization's logo.
func (s *Service) RemoveLogo(ctx context.Context, p Principal) (domain.Organization, error) {
	ls := s.logos()
	if ls == nil {
		return s.Organization(ctx, p)
	}
	o, err := s.changeOrganization(ctx, p.OrgID, func(o domain.Organization) (domain.Organization, error) {
		o.LogoVersion, o.UpdatedAt = "", s.now()
		return o, nil
	})
	if err != nil {
		return o, err
	}
	return o, ls.DeleteLogo(ctx, p.OrgID)
}

// Logo returns the organization's logo if its version is version (the
// one its URL names); otherwise domain.NotFound.
func (s *Service) Logo(ctx context.Context, orgID, version string) (store.Logo, error) {
	ls := s.logos()
	if ls == nil || version == "" {
		return store.Logo{}, domain.NotFound("logo")
	}
	l, err := ls.GetLogo(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && l.Version != version) {
		return store.Logo{}, domain.NotFound("logo")
	}
	return l, err
}

// mailLogo is the organization's logo for its e-mails, or nil when it has
// none or it cannot be read (an e-mail goes out without it rather than
// not at all).
func (s *Service) mailLogo(ctx context.Context, o domain.Organization) *mail.Image {
	if o.LogoVersion == "" {
		return nil
	}
	l, err := s.Logo(ctx, o.ID, o.LogoVersion)
	if err != nil {
		return nil
	}
	return &mail.Image{ContentType: l.ContentType, Data: l.Data}
}
