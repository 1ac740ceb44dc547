package api

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/portal"
)

type node = map[string]any

func loadDoc(t *testing.T) node {
	t.Helper()
	var doc node
	if err := yaml.Unmarshal(Spec, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return doc
}

func asNode(t *testing.T, v any, where string) node {
	t.Helper()
	n, ok := v.(node)
	if !ok {
		t.Fatalf("%s: want a mapping, got %T", where, v)
	}
	return n
}

// resolve follows a local "$ref" (a JSON pointer into the document).
func resolve(doc node, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("only local references are used, got %q", ref)
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(node)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not inside a mapping", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// deref returns v, or what it refers to when it is a {"$ref": ...} object.
func deref(t *testing.T, doc node, v any) node {
	t.Helper()
	n := asNode(t, v, "object")
	for i := 0; i < 10; i++ {
		ref, ok := n["$ref"].(string)
		if !ok {
			return n
		}
		target, err := resolve(doc, ref)
		if err != nil {
			t.Fatal(err)
		}
		n = asNode(t, target, ref)
	}
	t.Fatal("reference chain too long")
	return nil
}

type docOp struct {
	Method, Path string
	op           node
}

// operationKeys are the keys of a path item that name operations.
var operationKeys = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func docOperations(t *testing.T, doc node) []docOp {
	t.Helper()
	var ops []docOp
	for path, item := range asNode(t, doc["paths"], "paths") {
		for key, v := range asNode(t, item, path) {
			if !slices.Contains(operationKeys, key) {
				if key != "parameters" && key != "summary" && key != "description" {
					t.Errorf("%s: unexpected path item key %q (methods are lower case)", path, key)
				}
				continue
			}
			ops = append(ops, docOp{strings.ToUpper(key), path, asNode(t, v, path+" "+key)})
		}
	}
	return ops
}

func TestDocumentIsOpenAPI31(t *testing.T) {
	doc := loadDoc(t)
	v, _ := doc["openapi"].(string)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info := asNode(t, doc["info"], "info")
	for _, k := range []string{"title", "version"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s is missing", k)
		}
	}
}

func TestEveryOperationIsComplete(t *testing.T) {
	doc := loadDoc(t)
	schemes := asNode(t, asNode(t, doc["components"], "components")["securitySchemes"], "securitySchemes")
	ids := map[string]string{}
	statusRe := regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)
	paramRe := regexp.MustCompile(`\{([^}]+)\}`)

	for _, o := range docOperations(t, doc) {
		where := o.Method + " " + o.Path
		id, _ := o.op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s: no operationId", where)
		case ids[id] != "":
			t.Errorf("%s: operationId %q is also used by %s", where, id, ids[id])
		default:
			ids[id] = where
		}
		if s, _ := o.op["summary"].(string); strings.TrimSpace(s) == "" {
			t.Errorf("%s: no summary", where)
		}
		if d, _ := o.op["description"].(string); !strings.Contains(d, "Roles:") {
			t.Errorf("%s: the description does not say who may call it (\"Roles: ...\")", where)
		}

		// Responses: at least one, valid status keys, each with a description.
		responses, _ := o.op["responses"].(node)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", where)
		}
		for code, r := range responses {
			if !statusRe.MatchString(code) {
				t.Errorf("%s: response key %q is not a status code", where, code)
			}
			if d, _ := deref(t, doc, r)["description"].(string); d == "" {
				t.Errorf("%s: response %s has no description", where, code)
			}
		}

		// Security: declared on every operation; [] exactly for public routes,
		// otherwise requirements naming defined schemes, one of them bearer.
		sec, ok := o.op["security"]
		if !ok {
			t.Errorf("%s: security is not declared", where)
			continue
		}
		reqs, ok := sec.([]any)
		if !ok {
			t.Errorf("%s: security must be a list", where)
			continue
		}
		// Which operations are public is held to the route table by
		// internal/httpapi's TestOpenAPIStatesWhoMayCall.
		public := len(reqs) == 0
		bearer := false
		for _, r := range reqs {
			for name := range asNode(t, r, where+" security") {
				s, ok := schemes[name].(node)
				if !ok {
					t.Errorf("%s: security scheme %q is not defined", where, name)
					continue
				}
				if s["type"] == "http" && s["scheme"] == "bearer" {
					bearer = true
				}
			}
		}
		if !public && !bearer {
			t.Errorf("%s: no bearer security scheme", where)
		}
		if !public {
			if _, ok := responses["401"]; !ok {
				t.Errorf("%s: authenticated route without a 401 response", where)
			}
		}

		// Path parameters: every {name} declared, in: path, required.
		declared := map[string]bool{}
		params, _ := o.op["parameters"].([]any)
		seen := map[string]bool{}
		for _, p := range params {
			p := deref(t, doc, p)
			name, _ := p["name"].(string)
			in, _ := p["in"].(string)
			if seen[in+" "+name] {
				t.Errorf("%s: parameter %s %q declared twice", where, in, name)
			}
			seen[in+" "+name] = true
			if in == "path" {
				declared[name] = true
				if p["required"] != true {
					t.Errorf("%s: path parameter %q must be required", where, name)
				}
				if !strings.Contains(o.Path, "{"+name+"}") {
					t.Errorf("%s: path parameter %q is not in the path", where, name)
				}
			}
		}
		for _, m := range paramRe.FindAllStringSubmatch(o.Path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", where, m[1])
			}
		}

		// Errors are problem documents (the redirect's 404 is an HTML page).
		for code, r := range responses {
			if code[0] != '4' && code[0] != '5' {
				continue
			}
			content, _ := deref(t, doc, r)["content"].(node)
			if _, ok := content["application/problem+json"]; !ok && o.Path != "/r/{code}" {
				t.Errorf("%s: response %s is not application/problem+json", where, code)
			}
		}
	}
}

func TestSecuritySchemes(t *testing.T) {
	doc := loadDoc(t)
	schemes := asNode(t, asNode(t, doc["components"], "components")["securitySchemes"], "securitySchemes")
	bearer := asNode(t, schemes["bearerAuth"], "bearerAuth")
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("bearerAuth = %v, want http bearer", bearer)
	}
	cookie := asNode(t, schemes["sessionCookie"], "sessionCookie")
	if cookie["type"] != "apiKey" || cookie["in"] != "cookie" || cookie["name"] != "session" {
		t.Errorf("sessionCookie = %v, want apiKey in cookie \"session\"", cookie)
	}
}

func TestStandardErrorResponses(t *testing.T) {
	doc := loadDoc(t)
	responses := asNode(t, asNode(t, doc["components"], "components")["responses"], "responses")
	for _, name := range []string{"Malformed", "Unauthenticated", "Forbidden", "NotFound", "Conflict", "TooLarge", "Invalid", "RateLimited"} {
		r, ok := responses[name].(node)
		if !ok {
			t.Errorf("components.responses.%s is missing", name)
			continue
		}
		content, _ := r["content"].(node)
		mt, _ := content["application/problem+json"].(node)
		schema, _ := mt["schema"].(node)
		if schema["$ref"] != "#/components/schemas/Problem" {
			t.Errorf("components.responses.%s is not a Problem document", name)
		}
	}
}

// TestRefsResolve checks every "$ref" (and discriminator mapping) points at
// an existing component, and that every component is used.
func TestRefsResolve(t *testing.T) {
	doc := loadDoc(t)
	used := map[string]bool{}
	var walk func(v any, where string)
	check := func(ref, where string) {
		if !strings.HasPrefix(ref, "#/components/") {
			t.Errorf("%s: $ref %q does not point into #/components/", where, ref)
			return
		}
		if _, err := resolve(doc, ref); err != nil {
			t.Errorf("%s: %v", where, err)
		}
		used[ref] = true
	}
	walk = func(v any, where string) {
		switch v := v.(type) {
		case node:
			for k, x := range v {
				switch {
				case k == "$ref":
					s, ok := x.(string)
					if !ok {
						t.Errorf("%s: $ref is not a string", where)
						continue
					}
					check(s, where)
				case k == "discriminator":
					mapping, _ := asNode(t, x, where+".discriminator")["mapping"].(node)
					for _, ref := range mapping {
						check(ref.(string), where+".discriminator.mapping")
					}
				default:
					walk(x, where+"."+k)
				}
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s[%d]", where, i))
			}
		}
	}
	walk(doc, "")

	components := asNode(t, doc["components"], "components")
	for _, kind := range []string{"schemas", "responses", "parameters"} {
		for name := range asNode(t, components[kind], kind) {
			if ref := "#/components/" + kind + "/" + name; !used[ref] {
				t.Errorf("%s is never used", ref)
			}
		}
	}
}

// conform reports how value (decoded JSON) departs from schema. It knows the
// parts of JSON Schema this document uses, strictly: an object may hold only
// its declared properties, so a field added to a record without documenting
// it fails here.
func conform(doc node, schema node, v any, at string) []string {
	for {
		ref, ok := schema["$ref"].(string)
		if !ok {
			break
		}
		target, err := resolve(doc, ref)
		if err != nil {
			return []string{at + ": " + err.Error()}
		}
		schema = target.(node)
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }

	if types := schemaTypes(schema); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		fail("%v is %s, want %v", v, jsonType(v), types)
		return errs
	}
	if c, ok := schema["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("%v, want %v", v, c)
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		fail("%v is not one of %v", v, enum)
	}
	if s, ok := v.(string); ok {
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
			fail("%q does not match %s", s, p)
		}
		if schema["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				fail("%q is not RFC 3339", s)
			}
		}
	}
	if n, ok := v.(float64); ok {
		if m, ok := schema["minimum"].(int); ok && n < float64(m) {
			fail("%v is below %d", n, m)
		}
		if m, ok := schema["maximum"].(int); ok && n > float64(m) {
			fail("%v is above %d", n, m)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := schema["properties"].(node)
		for _, r := range asList(schema["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				fail("required %q is missing", r)
			}
		}
		if props != nil {
			for k, x := range obj {
				p, ok := props[k].(node)
				if !ok {
					if schema["additionalProperties"] != true {
						fail("%q is not documented", k)
					}
					continue
				}
				errs = append(errs, conform(doc, p, x, at+"."+k)...)
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := schema["items"].(node); ok {
			for i, x := range arr {
				errs = append(errs, conform(doc, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	for _, sub := range asList(schema["allOf"]) {
		errs = append(errs, conform(doc, sub.(node), v, at)...)
	}
	for _, kw := range []string{"oneOf", "anyOf"} {
		branches := asList(schema[kw])
		if len(branches) == 0 {
			continue
		}
		matched := 0
		var why []string
		for _, b := range branches {
			e := conform(doc, b.(node), v, at)
			if len(e) == 0 {
				matched++
			}
			why = append(why, e...)
		}
		if matched == 0 || (kw == "oneOf" && matched > 1) {
			fail("%s: %d of %d branches match %v", kw, matched, len(branches), why)
		}
	}
	return errs
}

func asList(v any) []any { l, _ := v.([]any); return l }

func schemaTypes(schema node) []string {
	switch t := schema["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == math.Trunc(v) {
			return "integer"
		}
		return "number"
	case int:
		return "integer"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func schemaNamed(t *testing.T, doc node, name string) node {
	t.Helper()
	schemas := asNode(t, asNode(t, doc["components"], "components")["schemas"], "schemas")
	return asNode(t, schemas[name], name)
}

func conformJSON(t *testing.T, doc node, name string, value any) {
	t.Helper()
	b, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, e := range conform(doc, schemaNamed(t, doc, name), v, name) {
		t.Errorf("%s\n  in %s", e, b)
	}
}

func ptr[T any](v T) *T { return &v }

// TestSchemasMatchTheWireFormat marshals the domain records as the API sends
// them and holds them to the documented schemas, both ways: every field sent
// is documented, every required field is sent.
func TestSchemasMatchTheWireFormat(t *testing.T) {
	doc := loadDoc(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ends := now.AddDate(1, 0, 0)

	tiered := domain.ProgramSpec{
		Name: "Spring", LandingURL: "https://example.com/signup?utm=x", Currency: "USD", StartsAt: now, EndsAt: &ends,
		AttributionWindowDays: 30, QualifyingEvents: []string{"signup", "purchase"},
		Eligibility: domain.Eligibility{NewCustomersOnly: true, MinPurchaseAmount: ptr[int64](2000)},
		Commission: domain.CommissionRule{Type: "tiered", Basis: "count", Period: "month", Tiers: []domain.Tier{
			{UpTo: ptr[int64](10), RateBps: ptr[int64](1000)},
			{UpTo: ptr[int64](50), Amount: ptr[int64](1500)},
			{RateBps: ptr[int64](2000)},
		}},
		HoldDays: 30,
	}
	if err := tiered.Validate(); err != nil {
		t.Fatal(err)
	}
	p := domain.NewProgram("org_1", "prg_1", tiered, now)
	conformJSON(t, doc, "Program", p)
	conformJSON(t, doc, "ProgramList", map[string]any{"items": []domain.Program{p}, "nextCursor": ""})

	flat := tiered
	flat.EndsAt = nil
	flat.Eligibility = domain.Eligibility{AllowSelfReferral: true}
	flat.Commission = domain.CommissionRule{Type: "flat", Amount: ptr[int64](2500)}
	p2, err := domain.NewProgram("org_1", "prg_2", flat, now).Update(func() domain.ProgramSpec {
		s := flat
		s.Commission = domain.CommissionRule{Type: "percentage", RateBps: ptr[int64](1250)}
		return s
	}(), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.RuleVersions) != 2 {
		t.Fatalf("rule versions = %d, want 2", len(p2.RuleVersions))
	}
	conformJSON(t, doc, "Program", p2)

	conformJSON(t, doc, "User", domain.User{ID: "usr_1", OrgID: "org_1", Email: "a@example.com", Name: "Ada",
		Role: domain.RoleAdmin, Status: domain.UserActive, PasswordHash: "x", CreatedAt: now, UpdatedAt: now})
	conformJSON(t, doc, "User", domain.User{ID: "usr_2", OrgID: "org_1", Email: "p@example.com", Name: "Pat",
		Role: domain.RolePartner, PartnerID: "prt_1", Status: domain.UserInvited, CreatedAt: now, UpdatedAt: now})
	conformJSON(t, doc, "APIKey", domain.APIKey{ID: "key_1", OrgID: "org_1", Name: "billing", Prefix: "plk_abcd",
		Hash: "x", CreatedBy: "usr_1", CreatedAt: now})

	type referrerView struct {
		domain.Referrer
		Link string `json:"link"`
	}
	conformJSON(t, doc, "Referrer", referrerView{domain.Referrer{ID: "ref_1", OrgID: "org_1", ProgramID: "prg_1",
		Email: "r@example.com", Name: "Rae", Code: "JANE-2026", Clicks: 3, CreatedAt: now},
		"https://app.example.com/r/JANE-2026"})

	conformJSON(t, doc, "Referral", domain.Referral{ID: "rfl_1", OrgID: "org_1", ProgramID: "prg_1",
		ReferrerID: "ref_1", Email: "c@example.com", Status: domain.ReferralIneligible,
		Reason: domain.ReasonSelfReferral, CreatedAt: now})
	conformJSON(t, doc, "Referral", domain.Referral{ID: "rfl_2", OrgID: "org_1", ProgramID: "prg_1",
		ReferrerID: "ref_1", PartnerID: "prt_1", Email: "d@example.com", Name: "Dee", ExternalID: "crm-9",
		Status: domain.ReferralConverted, CreatedAt: now, ConvertedAt: &ends})

	conformJSON(t, doc, "Conversion", domain.Conversion{ID: "cnv_1", OrgID: "org_1", ReferralID: "rfl_2",
		ProgramID: "prg_1", ReferrerID: "ref_1", Event: "signup", ExternalID: "evt-1", OccurredAt: now,
		RefundedAmount: domain.Money{Currency: "USD"}, CreatedAt: now})
	conformJSON(t, doc, "Conversion", domain.Conversion{ID: "cnv_2", OrgID: "org_1", ReferralID: "rfl_2",
		ProgramID: "prg_1", ReferrerID: "ref_1", Event: "purchase", Amount: &domain.Money{Amount: 9900, Currency: "USD"},
		ExternalID: "order-1", OccurredAt: now, RefundedAmount: domain.Money{Amount: 100, Currency: "USD"}, CreatedAt: now})

	until := now.Add(90 * 24 * time.Hour)
	partnerDeal := domain.Deal{ID: "dea_1", OrgID: "org_1", PartnerID: "prt_1", Source: domain.DealSourcePartner, CreatedBy: "usr_1",
		CustomerName: "Umbrella", CustomerDomain: "umbrella.example", Value: domain.Money{Amount: 900000, Currency: "USD"},
		Status: domain.DealConflict, ConflictsWith: "dea_0", ExclusiveUntil: &until, CreatedAt: now, UpdatedAt: now}
	conformJSON(t, doc, "Deal", partnerDeal)
	conformJSON(t, doc, "Deal", domain.Deal{ID: "dea_2", OrgID: "org_1", Source: domain.DealSourceDirect, CreatedBy: "usr_1",
		CustomerName: "Globex", CustomerDomain: "globex.example", Value: domain.Money{Amount: 1, Currency: "USD"},
		Status: domain.DealWon, WonValue: &domain.Money{Amount: 2, Currency: "USD"}, ClosedAt: &now, CreatedAt: now, UpdatedAt: now})
	conformJSON(t, doc, "PortalDeal", portal.DealView(partnerDeal))
	conformJSON(t, doc, "PortalDealList", map[string]any{"items": portal.DealViews([]domain.Deal{partnerDeal}), "nextCursor": nil})

	var sum portal.Summary
	sum.Partner.ID, sum.Partner.CompanyName = "prt_1", "Acme"
	sum.Referrals = map[string]int{"total": 1, "pending": 1, "converted": 0, "expired": 0, "ineligible": 0}
	sum.Earnings.Pending = []domain.Money{{Amount: 500, Currency: "USD"}}
	sum.Earnings.Approved, sum.Earnings.Paid = []domain.Money{}, []domain.Money{}
	sum.Deals = map[string]int{"total": 1, "registered": 1}
	sum.WonValue = []domain.Money{}
	sum.AsOf = now
	conformJSON(t, doc, "PortalSummary", sum)
	conformJSON(t, doc, "PortalLinkList", map[string]any{"items": []portal.Link{{ReferrerID: "ref_1", ProgramID: "prg_1",
		ProgramName: "Spring", ProgramStatus: domain.ProgramActive, Code: "JANE", Link: "https://app.example.com/r/JANE", CreatedAt: now}}, "nextCursor": nil})
	conformJSON(t, doc, "PortalReferralList", map[string]any{"items": []portal.Referral{{ID: "rfl_1", ProgramID: "prg_1",
		ReferrerID: "ref_1", Email: "j***@example.com", Status: domain.ReferralConverted, CreatedAt: now, ConvertedAt: &ends}}, "nextCursor": "abc"})

	usd := []domain.Money{{Amount: 12345, Currency: "USD"}}
	none := []domain.Money{}
	sumr := analytics.Summary{Clicks: 10, TotalReferrals: 4, ConvertedReferrals: 1, ConversionRate: 0.25, Conversions: 2,
		Revenue: usd, Commission: usd, CommissionAccrued: analytics.Accrued{Pending: usd, Approved: none, Paid: none, Reversed: none},
		PartnerContribution: analytics.Contribution{DealsRegistered: 1, DealValue: none, Revenue: none}, EPC: usd,
		AsOf: now, TimeZone: "Europe/Berlin", From: analytics.MustDate("2026-03-01"), To: analytics.MustDate("2026-03-31")}
	prev := sumr
	sumr.Previous = &prev
	conformJSON(t, doc, "AnalyticsSummary", sumr)
	conformJSON(t, doc, "AnalyticsSeries", analytics.Series{Interval: "day", TimeZone: "UTC", From: sumr.From, To: sumr.From, AsOf: now,
		Points: []analytics.Point{{Start: now, Clicks: 1, Revenue: usd, Commission: none}}})
	conformJSON(t, doc, "TopReferrers", analytics.TopList[analytics.ReferrerRow]{By: "conversions", TimeZone: "UTC", From: sumr.From, To: sumr.To, AsOf: now,
		Items: []analytics.ReferrerRow{{ReferrerID: "rfr_1", Name: "Jane", ProgramID: "prg_1", Clicks: 3, Revenue: usd, Commission: none}}})
	conformJSON(t, doc, "PartnerContributionList", analytics.TopList[analytics.PartnerRow]{By: "revenue", TimeZone: "UTC", From: sumr.From, To: sumr.To, AsOf: now,
		Items: []analytics.PartnerRow{{PartnerID: "prt_1", CompanyName: "Acme", TierID: "tir_1", Revenue: usd, DealValue: none, Commission: none, EPC: none}}})

	v := domain.Validation{}
	v.Add("commission.tiers[1].upTo", "must be greater than the previous tier's upTo (and than 0)")
	de, _ := domain.AsError(v.Err())
	conformJSON(t, doc, "Problem", map[string]any{"type": "about:blank", "title": "Unprocessable Entity",
		"status": 422, "detail": de.Message, "code": de.Code, "errors": de.Fields})
}

// TestRequestSchemasAcceptTheContract holds API.md's request examples to the
// request schemas, and checks the schemas refuse what the contract refuses.
func TestRequestSchemasAcceptTheContract(t *testing.T) {
	doc := loadDoc(t)
	accept := map[string][]string{
		"ProgramInput": {`{"name": "Spring", "landingUrl": "https://example.com", "currency": "USD",
			"startsAt": "2026-03-01T00:00:00Z", "attributionWindowDays": 30, "qualifyingEvents": ["signup", "purchase"],
			"eligibility": {"newCustomersOnly": true, "allowSelfReferral": false, "minPurchaseAmount": 2000},
			"commission": {"type": "tiered", "basis": "count", "period": "month", "mode": "marginal",
			"tiers": [{"upTo": 10, "rateBps": 1000}, {"upTo": 50, "rateBps": 1500}, {"upTo": null, "rateBps": 2000}]},
			"holdDays": 30}`},
		"ProgramPatch":    {`{}`, `{"endsAt": null}`, `{"commission": {"type": "flat", "amount": 2500}}`, `{"commission": {"type": "percentage", "rateBps": 1000}}`},
		"ReferrerInput":   {`{"email": "r@example.com", "name": "Rae"}`, `{"email": "r@example.com", "name": "Rae", "partnerId": "prt_1", "code": "jane-2026"}`},
		"ReferralInput":   {`{"code": "JANE", "email": "c@example.com"}`, `{"code": "JANE", "email": "c@example.com", "name": "Cy", "externalId": "crm-1"}`},
		"ConversionInput": {`{"referralId": "rfl_1", "event": "signup", "externalId": "e1"}`, `{"code": "JANE", "event": "purchase", "amount": 9900, "externalId": "o1"}`, `{"email": "c@example.com", "event": "purchase", "amount": {"amount": 9900, "currency": "USD"}, "externalId": "o2", "occurredAt": "2026-03-01T00:00:00Z"}`},
		"LoginRequest":    {`{"email": "a@example.com", "password": "secret"}`},
		"APIKeyInput":     {`{"name": "billing"}`},
	}
	refuse := map[string][]string{
		"ProgramPatch":    {`{"commission": {"type": "percentage", "rateBps": 10001}}`, `{"commission": {"type": "tiered", "basis": "count", "period": "month", "tiers": [{"upTo": null}]}}`, `{"qualifyingEvents": ["click"]}`, `{"currency": "usd"}`},
		"ReferrerInput":   {`{"email": "r@example.com", "name": "Rae", "code": "a b"}`, `{"name": "Rae"}`},
		"ConversionInput": {`{"event": "signup", "externalId": "e1"}`, `{"referralId": "rfl_1", "event": "signup"}`},
	}
	decode := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("bad test JSON %s: %v", s, err)
		}
		return v
	}
	for name, docs := range accept {
		for _, s := range docs {
			if errs := conform(doc, schemaNamed(t, doc, name), decode(s), name); len(errs) > 0 {
				t.Errorf("%s refuses %s: %v", name, s, errs)
			}
		}
	}
	for name, docs := range refuse {
		for _, s := range docs {
			if errs := conform(doc, schemaNamed(t, doc, name), decode(s), name); len(errs) == 0 {
				t.Errorf("%s accepts %s", name, s)
			}
		}
	}
}

// TestExamplesConform holds the document's own examples to their schemas.
func TestExamplesConform(t *testing.T) {
	doc := loadDoc(t)
	components := asNode(t, doc["components"], "components")
	for name, s := range asNode(t, components["schemas"], "schemas") {
		for i, ex := range asList(asNode(t, s, name)["examples"]) {
			for _, e := range conform(doc, s.(node), toJSON(t, ex), fmt.Sprintf("%s.examples[%d]", name, i)) {
				t.Error(e)
			}
		}
	}
	for name, r := range asNode(t, components["responses"], "responses") {
		content, _ := asNode(t, r, name)["content"].(node)
		for mtName, mt := range content {
			mt := asNode(t, mt, name+" "+mtName)
			schema, _ := mt["schema"].(node)
			var examples []any
			if ex, ok := mt["example"]; ok {
				examples = append(examples, ex)
			}
			exs, _ := mt["examples"].(node)
			for _, ex := range exs {
				examples = append(examples, asNode(t, ex, name+" example")["value"])
			}
			for _, ex := range examples {
				for _, e := range conform(doc, schema, toJSON(t, ex), "responses."+name) {
					t.Error(e)
				}
			}
		}
	}
}

// toJSON turns a value decoded from YAML into the shape encoding/json gives.
func toJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
