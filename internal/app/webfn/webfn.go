// Package webfn runs one group of the web UI's pages (internal/web) as a
// Lambda function: functions/web, functions/web-admin and
// functions/web-portal each pass their own group, so each links only that
// group's handlers, components and the service methods they call. It does
// not register the UI on app.App (internal/app/webui does, with every
// group, for the one-process server and the tests).
package webfn

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/web"
)

// Config is the web UI's configuration on a's services.
func Config(a *app.App) web.Config {
	return web.Config{
		Identity: a.Identity, Programs: a.Programs, Tracking: a.Tracking, Partners: a.Partners, Ledger: a.Ledger,
		Deals: a.Deals, Portal: a.Portal, Payouts: a.Payouts, Analytics: a.Analytics, Invitations: a.Identity, Webhooks: a.Webhooks,
		SecureCookies: a.API.SecureCookies, Log: a.Log, Now: a.Now(), ClientAddr: a.Config.TrustedProxies,
	}
}

// Start is the whole main of a web function: read the configuration, open
// the store (and SES through newSES, nil for a group that sends no mail),
// serve group's pages.
func Start(group web.PageGroup, newSES app.NewSES) {
	a := app.StartApp(group.Name, newSES)
	lambda.Start(app.HTTPHandler(web.New(Config(a), group)))
}
