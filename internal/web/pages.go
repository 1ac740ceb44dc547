package web

import "github.com/a-h/templ"

// pageContent is page's content, the page's data rendered by its templ
// component (templates: the *.templ files; the *_templ.go files are
// generated from them by `go tool templ generate`).
func pageContent(page string, v view) templ.Component {
	switch d := v.Data.(type) {
	case errorData:
		return errorPageC(v, d)
	case loginData:
		return loginPage(v, d)
	case forgotData:
		return forgotPage(v, d)
	case acceptData:
		return acceptPage(v, d)
	case programListData:
		return programsPage(v, d)
	case dashboardData:
		return dashboardPage(v, d)
	case revokeData:
		return revokePage(v, d)
	case portalDealsData:
		if page == "portal_deal" {
			return portalDealPage(v, d)
		}
		return portalDealsPage(v, d)
	case conversionListData:
		return conversionsPage(v, d)
	case partnerListData:
		return partnersPage(v, d)
	case payoutListData:
		return payoutsPage(v, d)
	case payoutRunData:
		return payoutPage(v, d)
	case partnerFormData:
		return partnerFormPage(v, d)
	case programFormData:
		return programFormPage(v, d)
	case organizationData:
		return orgPage(v, d)
	case programData:
		return programPage(v, d)
	case portalHomeData:
		return portalPage(v, d)
	case portalEarningsData:
		return portalEarningsPage(v, d)
	case portalPayoutsData:
		return portalPayoutsPage(v, d)
	case dealsData:
		if page == "deal" {
			return dealPage(v, d)
		}
		return dealsPage(v, d)
	case commissionListData:
		return commissionsPage(v, d)
	case *analyticsData:
		return analyticsPage(v, *d)
	case partner360Data:
		return partnerPage(v, d)
	case portalLinksData:
		return portalLinksPage(v, d)
	case portalReferralsData:
		return portalReferralsPage(v, d)
	case referralListData:
		return referralsPage(v, d)
	case referrerListData:
		return referrersPage(v, d)
	case tierEditData:
		return tierPage(v, d)
	case tierListData:
		return tiersPage(v, d)
	case userListData:
		return usersPage(v, d)
	case apiKeysData:
		return apiKeysPage(v, d)
	case webhooksData:
		return webhooksPage(v, d)
	case webhookData:
		return webhookPage(v, d)
	}
	return nil
}
