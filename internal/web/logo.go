package web

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	_ "image/jpeg" // decodes uploaded logos (fpdf links it already)
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/identity"
	"github.com/partnerloop/partnerloop/internal/store"
)

// Logo uploads: the file as chosen may be up to maxLogoUpload; what is
// stored (a PNG re-encoded, a JPEG as it came) at most store.MaxLogoBytes.
// Sides are limited before the image is decoded, so a small file cannot
// claim a huge canvas.
const (
	maxLogoUpload  = 1 << 20
	minLogoSide    = 16
	maxLogoSide    = 2000
	logoUploadPath = "/settings/organization/logo"
)

// logoPath is where an organization's logo is served. The logo is public
// at that address: the version in it is a digest of the organization and
// the image (identity.logoVersion), which nobody without the image can
// guess, and a brand mark is not a secret. That lets the URL be cached
// by browsers and proxies for good (a new logo is a new URL), lets the
// pages shown before sign-in (invitation, password reset) use it, and
// spares a session lookup on every image request.
func logoPath(o domain.Organization) string {
	if o.LogoVersion == "" {
		return ""
	}
	return "/logo/" + url.PathEscape(o.ID) + "/" + url.PathEscape(o.LogoVersion)
}

// logoImage checks an uploaded logo by decoding it — its format is what
// its bytes say, never its name or declared type — and returns the bytes
// to store and their media type, or a message for people. PNGs are
// re-encoded as 8-bit, non-interlaced PNGs (what every PDF reader and
// mail client shows; no metadata kept); JPEGs are kept as they are.
func logoImage(raw []byte) (data []byte, contentType, problem string) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil || (format != "png" && format != "jpeg") {
		return nil, "", "Choose a PNG or JPEG image."
	}
	if cfg.Width < minLogoSide || cfg.Height < minLogoSide || cfg.Width > maxLogoSide || cfg.Height > maxLogoSide {
		return nil, "", "The logo must be between " + strconv.Itoa(minLogoSide) + " and " + itoa(maxLogoSide) +
			" pixels wide and high; this one is " + itoa(cfg.Width) + " × " + itoa(cfg.Height) + "."
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, "", "The image could not be read; it may be damaged. Choose another PNG or JPEG file."
	}
	switch format {
	case "png":
		rgba := image.NewNRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, rgba); err != nil {
			return nil, "", "The image could not be read; it may be damaged. Choose another PNG or JPEG file."
		}
		data, contentType = buf.Bytes(), identity.LogoPNG
	default:
		data, contentType = raw, identity.LogoJPEG
	}
	if len(data) > store.MaxLogoBytes {
		return nil, "", "The logo must be at most 256 KB; choose a smaller image."
	}
	return data, contentType, ""
}

// uploadPages are the form targets that take multipart/form-data (a
// file), up to maxLogoUpload; serve parses them so, every other POST as
// a URL-encoded form.
var uploadPages = map[string]bool{"POST " + logoUploadPath: true}

// parseUpload parses a multipart form of at most maxLogoUpload bytes
// (plus the other fields) into r.PostForm and r.MultipartForm.
func parseUpload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoUpload+maxFormBytes)
	if err := r.ParseMultipartForm(maxLogoUpload + maxFormBytes); err != nil {
		return err
	}
	return nil
}

// readUpload returns the file sent in field, at most max bytes.
func readUpload(r *http.Request, field string, max int64) ([]byte, error) {
	f, _, err := r.FormFile(field)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, err
}

var errTooLarge = errors.New("upload too large")

// logoVersionRe is the form of a logo's version (identity.logoVersion).
var logoVersionRe = lazyRegexp(`^[0-9a-f]{24}$`)

// logoUpload sets the organization's logo from the uploaded file.
func (s *Server) logoUpload(rq *request) error {
	lf := newForm(nil)
	raw, err := readUpload(rq.r, "logo", maxLogoUpload)
	switch {
	case errors.Is(err, http.ErrMissingFile) || (err == nil && len(raw) == 0):
		lf.add("logo", "Choose an image file to upload.")
	case errors.Is(err, errTooLarge) || errors.Is(err, multipart.ErrMessageTooLarge):
		lf.add("logo", "The file is larger than 1 MB; choose a smaller image.")
	case err != nil:
		return err
	}
	if len(lf.Errors) == 0 {
		data, ct, problem := logoImage(raw)
		if problem != "" {
			lf.add("logo", problem)
		} else if _, err := s.cfg.Identity.SetLogo(rq.r.Context(), *rq.p, data, ct); err != nil {
			if !lf.fail(err, func(string) bool { return true }) {
				return err
			}
		}
	}
	if len(lf.Errors) > 0 || lf.Message != "" {
		if lf.Message == "" {
			lf.Message = "The logo was not saved."
		}
		return s.renderOrganizationWith(rq, http.StatusUnprocessableEntity, nil, lf)
	}
	return s.redirect(rq, "/settings/organization", "Logo saved. It shows in the console, the partner portal, e-mails and statements.")
}

// logoRemove removes the organization's logo.
func (s *Server) logoRemove(rq *request) error {
	if _, err := s.cfg.Identity.RemoveLogo(rq.r.Context(), *rq.p); err != nil {
		return err
	}
	return s.redirect(rq, "/settings/organization", "Logo removed.")
}

// logo serves an organization's logo at logoPath: the stored bytes under
// their stored type, never sniffed, cacheable for good (the address
// changes with the image).
func (s *Server) logo(rq *request) error {
	org, version := rq.r.PathValue("org"), rq.r.PathValue("version")
	if !logoVersionRe().MatchString(version) || len(org) > 64 || strings.ContainsAny(org, "#/") {
		http.NotFound(rq.w, rq.r) // not an address this server wrote: no store lookup
		return nil
	}
	l, err := s.cfg.Identity.Logo(rq.r.Context(), org, version)
	if err != nil {
		if e, ok := domain.AsError(err); ok && e.Kind == domain.KindNotFound {
			http.NotFound(rq.w, rq.r)
			return nil
		}
		return err
	}
	h := rq.w.Header()
	h.Set("Content-Type", l.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", strconv.Itoa(len(l.Data)))
	_, err = rq.w.Write(l.Data)
	return err
}
