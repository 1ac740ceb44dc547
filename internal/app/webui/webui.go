// Package webui wires the web UI (internal/web) onto app.App: importing it
// makes app.New set App.Web (see app.RegisterWebUI). The web function, the
// one-process server and the tests that serve pages import it; the API
// functions do not, so they neither link nor initialise the UI's pages and
// money formatting.
package webui

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/mail/sesmail"
	"github.com/partnerloop/partnerloop/internal/web"
)

func init() { app.RegisterWebUI(New) }

// New is the web UI on a's services.
func New(a *app.App) app.WebUI {
	return web.New(web.Config{
		Identity: a.Identity, Programs: a.Programs, Tracking: a.Tracking, Partners: a.Partners, Ledger: a.Ledger,
		Deals: a.Deals, Portal: a.Portal, Payouts: a.Payouts, Analytics: a.Analytics, Invitations: a.Identity, Webhooks: a.Webhooks,
		SecureCookies: a.API.SecureCookies, Log: a.Log, Now: a.Now(), ClientAddr: a.Config.TrustedProxies,
	})
}

// Start is the whole main of the web function (it sends invitations and
// password resets through SES).
func Start() {
	a := app.StartApp(web.Group, sesmail.NewMailer)
	lambda.Start(app.HTTPHandler(a.Web))
}
