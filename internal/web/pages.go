package web

import "github.com/a-h/templ"

// pageContent is page's content, the page's data rendered by its templ
// component (templates: the *.templ files; the *_templ.go files are
// generated from them by `go tool templ generate`).
func pageContent(page string, v view) templ.Component {
	if d, ok := v.Data.(pageData); ok {
		return d.content(page, v)
	}
	return nil
}

// pageData is a page's data: it names the component that renders it (page
// tells apart the pages that share their data's type). A method of each
// type rather than one switch over them all, so that a function links only
// the components of the pages it serves (the data of the others is never
// made into an interface value there: see internal/web.PageGroup).
type pageData interface {
	content(page string, v view) templ.Component
}

func (d errorData) content(page string, v view) templ.Component {
	return errorPageC(v, d)
}

func (d loginData) content(page string, v view) templ.Component {
	return loginPage(v, d)
}

func (d forgotData) content(page string, v view) templ.Component {
	return forgotPage(v, d)
}

func (d acceptData) content(page string, v view) templ.Component {
	return acceptPage(v, d)
}

func (d programListData) content(page string, v view) templ.Component {
	return programsPage(v, d)
}

func (d dashboardData) content(page string, v view) templ.Component {
	return dashboardPage(v, d)
}

func (d revokeData) content(page string, v view) templ.Component {
	return revokePage(v, d)
}

func (d portalDealsData) content(page string, v view) templ.Component {
	if page == "portal_deal" {
		return portalDealPage(v, d)
	}
	return portalDealsPage(v, d)
}

func (d conversionListData) content(page string, v view) templ.Component {
	return conversionsPage(v, d)
}

func (d partnerListData) content(page string, v view) templ.Component {
	return partnersPage(v, d)
}

func (d payoutListData) content(page string, v view) templ.Component {
	return payoutsPage(v, d)
}

func (d payoutRunData) content(page string, v view) templ.Component {
	return payoutPage(v, d)
}

func (d partnerFormData) content(page string, v view) templ.Component {
	return partnerFormPage(v, d)
}

func (d programFormData) content(page string, v view) templ.Component {
	return programFormPage(v, d)
}

func (d organizationData) content(page string, v view) templ.Component {
	return orgPage(v, d)
}

func (d programData) content(page string, v view) templ.Component {
	return programPage(v, d)
}

func (d portalHomeData) content(page string, v view) templ.Component {
	return portalPage(v, d)
}

func (d portalEarningsData) content(page string, v view) templ.Component {
	return portalEarningsPage(v, d)
}

func (d portalPayoutsData) content(page string, v view) templ.Component {
	return portalPayoutsPage(v, d)
}

func (d dealsData) content(page string, v view) templ.Component {
	if page == "deal" {
		return dealPage(v, d)
	}
	return dealsPage(v, d)
}

func (d commissionListData) content(page string, v view) templ.Component {
	return commissionsPage(v, d)
}

func (d *analyticsData) content(page string, v view) templ.Component {
	return analyticsPage(v, *d)
}

func (d partner360Data) content(page string, v view) templ.Component {
	return partnerPage(v, d)
}

func (d portalLinksData) content(page string, v view) templ.Component {
	return portalLinksPage(v, d)
}

func (d portalReferralsData) content(page string, v view) templ.Component {
	return portalReferralsPage(v, d)
}

func (d referralListData) content(page string, v view) templ.Component {
	return referralsPage(v, d)
}

func (d referrerListData) content(page string, v view) templ.Component {
	return referrersPage(v, d)
}

func (d tierEditData) content(page string, v view) templ.Component {
	return tierPage(v, d)
}

func (d tierListData) content(page string, v view) templ.Component {
	return tiersPage(v, d)
}

func (d userListData) content(page string, v view) templ.Component {
	return usersPage(v, d)
}

func (d apiKeysData) content(page string, v view) templ.Component {
	return apiKeysPage(v, d)
}

func (d webhooksData) content(page string, v view) templ.Component {
	return webhooksPage(v, d)
}

func (d webhookData) content(page string, v view) templ.Component {
	return webhookPage(v, d)
}
