// Command web is the Lambda function serving the web UI (HTML pages and
// their assets) on the HTTP API's $default route.
package main

import (
	"github.com/partnerloop/partnerloop/internal/app/webui"
	_ "github.com/partnerloop/partnerloop/internal/portal/statementpdf" // registers the PDF statement renderer
)

func main() { webui.Start() }
