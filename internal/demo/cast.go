package demo

import (
	"time"

	"github.com/partnerloop/partnerloop/internal/domain"
)

// The cast of the demo: its programs, partner tiers and partners, and the
// names its people and customers are made of. Days count from the start of
// the demo's year.

var (
	firstNames = []string{"Ava", "Ben", "Chloe", "Dev", "Elena", "Finn", "Grace", "Hiro", "Isla", "Jonas", "Kira", "Liam",
		"Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wen", "Yusuf", "Zoe",
		"Amara", "Bruno", "Carmen", "Diego", "Emil", "Fatima", "Gabriel", "Hana", "Ines", "Jamal", "Leila", "Mateo", "Nina"}
	lastNames = []string{"Alvarez", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
		"Kowalski", "Lopez", "Mensah", "Novak", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Weber",
		"Andersson", "Bianchi", "Costa", "Dimitrov", "Eriksen", "Ferreira", "Horvat", "Ivanova", "Kaya", "Moreau"}
	mailDomains = []string{"example.com", "example.org", "example.net", "mail.example.com", "corp.example", "inbox.example"}

	// companyWords make the customers partners and sales register deals
	// for: "Harbor Logistics", harbor-logistics.example.
	companyFirst = []string{"Harbor", "Summit", "Cedar", "Granite", "Helios", "Juniper", "Meridian", "Nimbus", "Orchid",
		"Pioneer", "Quartz", "Redwood", "Sapphire", "Tidewater", "Vertex", "Willow", "Beacon", "Copper", "Falcon", "Lumen"}
	companySecond = []string{"Logistics", "Health", "Foods", "Analytics", "Retail", "Energy", "Capital", "Labs", "Media", "Robotics"}

	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
	}
	// referers are where visitors of a customer's link come from ("" is
	// typed in or from an app that sends no Referer).
	referers = []string{"", "", "https://twitter.com/", "https://www.linkedin.com/feed/", "https://www.facebook.com/",
		"https://mail.google.com/", "https://www.reddit.com/r/saas/", "https://news.example/"}

	dealRejections = []string{
		"Customer is already in our direct pipeline",
		"Not enough information: add the buying contact and the budget",
		"Outside the partner's territory",
	}
	conflictRejection    = "Another partner registered this customer first"
	commissionRejections = []string{
		"Order cancelled before fulfilment",
		"Duplicate account: the same customer was referred twice",
		"Fraud check failed: disposable payment method",
		"Referred through a coupon site, against the program terms",
	}
)

func i64(v int64) *int64 { return &v }
func intp(v int) *int    { return &v }

// amount is a purchase value and how often customers pick it.
type amount struct {
	minor  int64
	weight float64
}

// programPlan is a program of the demo and how its visitors behave.
type programPlan struct {
	key  string
	spec domain.ProgramSpec // StartsAt (and EndsAt) are set at launch
	// launch is the day the program is created and activated; customers
	// is the share of the customer referrers who join it.
	launch    int
	customers float64
	// referralRate is the share of counted clicks that become referrals;
	// signupRate the share of eligible referrals that sign up, and
	// purchaseRate the share of those (or of the referrals, when the
	// program counts no signups) that buy, after about delay.
	referralRate, signupRate, purchaseRate float64
	delay                                  time.Duration
	amounts                                []amount
	// holiday marks the seasonal campaign: live from late November to
	// early January, paused once its last conversions are in.
	holiday bool
}

const (
	progPro     = "pro"
	progGive    = "give"
	progEurope  = "europe"
	progHoliday = "holiday"
)

// programPlans are the demo's programs: one of each commission rule type
// (percentage, flat, tiered — count basis, retroactive: a referrer's second
// conversion of a month lifts the first to 15 % when the month closes), one
// in EUR, and a seasonal campaign that ends and is paused.
var programPlans = []*programPlan{
	{key: progPro, launch: 0, customers: 0.58, referralRate: 0.09, signupRate: 0.30, purchaseRate: 0.5, delay: 5 * 24 * time.Hour,
		spec: domain.ProgramSpec{Name: "Customer referral — Pro plan", LandingURL: "https://example.com/pricing", Currency: "USD",
			AttributionWindowDays: 30, QualifyingEvents: []string{domain.EventSignup, domain.EventPurchase},
			Eligibility: domain.Eligibility{NewCustomersOnly: true},
			Commission:  domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(2000)}, HoldDays: 30},
		amounts: []amount{{9900, 25}, {19900, 20}, {49000, 25}, {99000, 18}, {299000, 12}}},
	{key: progGive, launch: 0, customers: 0.30, referralRate: 0.13, purchaseRate: 0.22, delay: 6 * 24 * time.Hour,
		spec: domain.ProgramSpec{Name: "Give $20, get $20", LandingURL: "https://example.com/invite?utm_source=referral", Currency: "USD",
			AttributionWindowDays: 60, QualifyingEvents: []string{domain.EventPurchase},
			Eligibility: domain.Eligibility{NewCustomersOnly: true, MinPurchaseAmount: i64(2000)},
			Commission:  domain.CommissionRule{Type: domain.RuleFlat, Amount: i64(2000)}, HoldDays: 14},
		amounts: []amount{{2900, 30}, {4900, 30}, {7900, 20}, {12900, 12}, {19900, 8}}},
	{key: progEurope, launch: 45, customers: 0.04, referralRate: 0.07, purchaseRate: 0.35, delay: 15 * 24 * time.Hour,
		spec: domain.ProgramSpec{Name: "Partner programme — Europe", LandingURL: "https://example.com/eu/partners", Currency: "EUR",
			AttributionWindowDays: 90, QualifyingEvents: []string{domain.EventPurchase},
			Commission: domain.CommissionRule{Type: domain.RuleTiered, Basis: domain.BasisCount, Period: domain.PeriodMonth, Mode: domain.ModeRetroactive,
				Tiers: []domain.Tier{{UpTo: i64(1), RateBps: i64(1000)}, {UpTo: i64(4), RateBps: i64(1500)}, {RateBps: i64(2000)}}}, HoldDays: 30},
		amounts: []amount{{49000, 30}, {90000, 30}, {150000, 20}, {250000, 12}, {400000, 8}}},
	{key: progHoliday, customers: 0.08, referralRate: 0.16, signupRate: 0.30, delay: 12 * time.Hour, holiday: true,
		spec: domain.ProgramSpec{Name: "Holiday campaign", LandingURL: "https://example.com/holiday", Currency: "USD",
			AttributionWindowDays: 14, QualifyingEvents: []string{domain.EventSignup},
			Eligibility: domain.Eligibility{NewCustomersOnly: true},
			Commission:  domain.CommissionRule{Type: domain.RuleFlat, Amount: i64(500)}, HoldDays: 0}},
}

// holidayWindow is the seasonal campaign's run: from the last 20 November
// that leaves it a few weeks before the present, for seven weeks.
func holidayWindow(start, end time.Time) (from, to time.Time) {
	from = time.Date(end.Year(), time.November, 20, 0, 0, 0, 0, time.UTC)
	if from.After(end.AddDate(0, 0, -21)) {
		from = from.AddDate(-1, 0, 0)
	}
	if from.Before(start.AddDate(0, 0, 2)) {
		from = start.AddDate(0, 0, 2)
	}
	return from, from.AddDate(0, 0, 47)
}

// tierPlan is a partner tier of the demo.
type tierPlan struct {
	key  string
	spec domain.PartnerTierSpec
	// raise, when set, is a new rate from day raiseOn: the rule's second
	// version.
	raise   *int64
	raiseOn int
}

const (
	tierGold   = "gold"
	tierSilver = "silver"
	tierAgency = "agency"
)

var tierPlans = []*tierPlan{
	{key: tierGold, spec: domain.PartnerTierSpec{Name: "Gold resellers", HoldDays: intp(30),
		Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(1500)}}},
	{key: tierSilver, raise: i64(1200), raiseOn: 250, spec: domain.PartnerTierSpec{Name: "Silver affiliates", HoldDays: intp(14),
		Commission: domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(1000)}}},
	// Agencies earn on revenue, quarter by quarter, like tax brackets: the
	// first €25,000 of a quarter at 10 %, the rest at 15 %.
	{key: tierAgency, spec: domain.PartnerTierSpec{Name: "Agency partners", HoldDays: intp(30),
		Commission: domain.CommissionRule{Type: domain.RuleTiered, Basis: domain.BasisRevenue, Period: domain.PeriodQuarter, Mode: domain.ModeMarginal,
			Tiers: []domain.Tier{{UpTo: i64(2500000), RateBps: i64(1000)}, {RateBps: i64(1500)}}}}},
}

// linkPlan is a partner's referral link in a program.
type linkPlan struct {
	program string
	code    string
	weight  float64 // its traffic, against a typical customer's 1–3
	referer string
}

// partnerPlan is a partner of the demo.
type partnerPlan struct {
	company, contact, email, tier string
	join                          int
	rule                          *domain.CommissionRule // its own negotiated rule
	agreements                    []string
	links                         []linkPlan
	// dealsPerMonth is how often it registers deals, in dealCurrency.
	dealsPerMonth float64
	dealCurrency  string
	// portal: "accepted" (the demo's portal user), "invited" (a link sent
	// and never used), or none.
	portal string
	// promote moves it to another tier on day promoteOn.
	promote   string
	promoteOn int
}

// DemoPartnerEmail is the address of the partner whose portal the demo
// opens to a person (with a password Load returns).
const DemoPartnerEmail = "partner@demo.example"

var partnerPlans = []*partnerPlan{
	{company: "Northwind Resellers", contact: "Dana Whitfield", email: DemoPartnerEmail, tier: tierGold, join: 3, portal: "accepted",
		agreements: []string{"Reseller agreement v3", "Data processing addendum"}, dealsPerMonth: 1.5, dealCurrency: "USD",
		links: []linkPlan{{progPro, "NORTHWIND", 24, "https://northwind.example/partners"}, {progGive, "NORTHWIND-20", 12, "https://northwind.example/newsletter"}}},
	{company: "Bluebird Systems", contact: "Marcus Lee", email: "marcus@bluebird-systems.example", tier: tierGold, join: 20, portal: "invited",
		agreements: []string{"Reseller agreement v3"}, dealsPerMonth: 1.5, dealCurrency: "USD",
		links: []linkPlan{{progPro, "BLUEBIRD", 8, "https://bluebird-systems.example/"}}},
	{company: "Summit Partners Inc.", contact: "Priya Raman", email: "priya@summitpartners.example", tier: tierGold, join: 60,
		rule:       &domain.CommissionRule{Type: domain.RulePercentage, RateBps: i64(1800)},
		agreements: []string{"Reseller agreement v3", "Negotiated commission schedule (18 %)"}, dealsPerMonth: 1.2, dealCurrency: "USD",
		links: []linkPlan{{progPro, "SUMMIT", 9, "https://summitpartners.example/"}}},
	{company: "Atlas IT Solutions", contact: "Tom Becker", email: "tom@atlas-it.example", tier: tierGold, join: 150,
		agreements: []string{"Reseller agreement v3"}, dealsPerMonth: 1.5, dealCurrency: "USD",
		links: []linkPlan{{progPro, "ATLAS-IT", 7, "https://atlas-it.example/"}}},
	{company: "Tech Review Weekly", contact: "Alex Morgan", email: "alex@techreviewweekly.example", tier: tierSilver, join: 10,
		agreements: []string{"Affiliate terms"}, dealsPerMonth: 0.1, dealCurrency: "USD",
		links: []linkPlan{{progPro, "TECHREVIEW", 30, "https://techreviewweekly.example/reviews"}}},
	{company: "SaaS Deals Daily", contact: "Jordan Kim", email: "deals@saasdealsdaily.example", tier: tierSilver, join: 40,
		agreements: []string{"Affiliate terms"},
		links:      []linkPlan{{progGive, "SAASDEALS", 25, "https://saasdealsdaily.example/"}}},
	{company: "Indie Maker Podcast", contact: "Sam Ortiz", email: "sam@indiemakerpodcast.example", tier: tierSilver, join: 200,
		agreements: []string{"Affiliate terms", "Sponsorship addendum"},
		links:      []linkPlan{{progPro, "INDIEMAKER", 18, "https://indiemakerpodcast.example/episodes"}}},
	{company: "CloudTools Blog", contact: "Lena Fischer", email: "lena@cloudtools.example", tier: tierSilver, join: 90, portal: "invited",
		promote: tierGold, promoteOn: 300, agreements: []string{"Affiliate terms"}, dealsPerMonth: 0.3, dealCurrency: "USD",
		links: []linkPlan{{progPro, "CLOUDTOOLS", 15, "https://cloudtools.example/blog"}, {progGive, "CLOUDTOOLS-20", 8, "https://cloudtools.example/deals"}}},
	{company: "Kraftwerk Digital GmbH", contact: "Jonas Weber", email: "jonas@kraftwerk-digital.example", tier: tierAgency, join: 50, portal: "invited",
		agreements: []string{"Agency partner agreement (EU)", "Data processing addendum"}, dealsPerMonth: 1.2, dealCurrency: "EUR",
		links: []linkPlan{{progEurope, "KRAFTWERK", 10, "https://kraftwerk-digital.example/"}}},
	{company: "Agence Lumière", contact: "Camille Dubois", email: "camille@agence-lumiere.example", tier: tierAgency, join: 70,
		agreements: []string{"Agency partner agreement (EU)"}, dealsPerMonth: 1, dealCurrency: "EUR",
		links: []linkPlan{{progEurope, "LUMIERE", 8, "https://agence-lumiere.example/"}}},
	{company: "Studio Nord", contact: "Erik Lindqvist", email: "erik@studionord.example", tier: tierAgency, join: 120,
		agreements: []string{"Agency partner agreement (EU)", "Co-marketing addendum"}, dealsPerMonth: 0.8, dealCurrency: "EUR",
		links: []linkPlan{{progEurope, "STUDIONORD", 6, "https://studionord.example/"}}},
	{company: "Brightside Creative", contact: "Olivia Grant", email: "olivia@brightside.example", tier: tierAgency, join: 280,
		agreements: []string{"Agency partner agreement (EU)"}, dealsPerMonth: 0.8, dealCurrency: "EUR",
		links: []linkPlan{{progEurope, "BRIGHTSIDE", 5, "https://brightside.example/"}}},
}

// spikePlans are the year's viral moments: a review on the front page of
// a news site, a customer's post shared widely, a podcast episode.
var spikePlans = []spike{
	{code: "TECHREVIEW", day: 118, share: 0.06, referer: "https://news.ycombinator.com/item"},
	{code: "", day: 236, share: 0.05, referer: "https://twitter.com/"}, // the busiest customer's link
	{code: "INDIEMAKER", day: 312, share: 0.03, referer: "https://indiemakerpodcast.example/episodes/42"},
}

// directDealsPerMonth is how often the organization's own sales team
// registers a deal.
const directDealsPerMonth = 2
