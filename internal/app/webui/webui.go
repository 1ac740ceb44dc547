// Package webui wires the web UI (internal/web), every page group of it,
// onto app.App: importing it makes app.New set App.Web (see
// app.RegisterWebUI). The one-process server and the tests that serve pages
// import it; the Lambda functions do not (the web ones serve one group each
// through internal/app/webfn), so the API functions neither link nor
// initialise the UI's pages and money formatting.
package webui

import (
	"slices"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/app/webfn"
	"github.com/partnerloop/partnerloop/internal/web"
)

func init() { app.RegisterWebUI(New) }

// New is the web UI on a's services: the groups named (as a web function
// serves them), every group when none is.
func New(a *app.App, groups ...string) app.WebUI {
	var gs []web.PageGroup
	for _, g := range web.AllGroups() {
		if len(groups) == 0 || slices.Contains(groups, g.Name) {
			gs = append(gs, g)
		}
	}
	return web.New(webfn.Config(a), gs...)
}
