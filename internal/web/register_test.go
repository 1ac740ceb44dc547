package web_test

// The programs that serve the web UI register the PDF statement renderer
// (functions/web, the one-process server); so do its tests.
import _ "github.com/partnerloop/partnerloop/internal/portal/statementpdf"
