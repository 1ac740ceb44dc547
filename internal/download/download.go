// Package download answers an HTTP request with a file to save (a CSV
// export, a statement PDF): one place for the attachment headers that the
// API and the web UI both send.
package download

import (
	"bytes"
	"io"
	"net/http"
)

// Send answers with the file write produces, as an attachment named
// filename. The whole file is built before the first byte is sent, so a
// failure is still the caller's to report (an error response, never half a
// file); downloads hold people's data and are never cached.
func Send(w http.ResponseWriter, contentType, filename string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

// CSV is Send for a CSV file.
func CSV(w http.ResponseWriter, filename string, write func(io.Writer) error) error {
	return Send(w, "text/csv; charset=utf-8", filename, write)
}
