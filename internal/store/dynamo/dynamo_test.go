package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.yaml.in/yaml/v3"

	"github.com/partnerloop/partnerloop/internal/analytics"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
)

// templateTable is the part of template.yaml's Table resource that
// CreateTable must reproduce.
type templateTable struct {
	Type       string `yaml:"Type"`
	Properties struct {
		BillingMode          string `yaml:"BillingMode"`
		AttributeDefinitions []struct {
			AttributeName string `yaml:"AttributeName"`
			AttributeType string `yaml:"AttributeType"`
		} `yaml:"AttributeDefinitions"`
		KeySchema              []keyElem `yaml:"KeySchema"`
		GlobalSecondaryIndexes []struct {
			IndexName  string    `yaml:"IndexName"`
			KeySchema  []keyElem `yaml:"KeySchema"`
			Projection struct {
				ProjectionType string `yaml:"ProjectionType"`
			} `yaml:"Projection"`
		} `yaml:"GlobalSecondaryIndexes"`
		StreamSpecification struct {
			StreamViewType string `yaml:"StreamViewType"`
		} `yaml:"StreamSpecification"`
		TimeToLiveSpecification struct {
			AttributeName string `yaml:"AttributeName"`
			Enabled       bool   `yaml:"Enabled"`
		} `yaml:"TimeToLiveSpecification"`
	} `yaml:"Properties"`
}

type keyElem struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

func readTemplateTable(t *testing.T) templateTable {
	t.Helper()
	b, err := os.ReadFile("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	// Intrinsic functions (!Ref, !Sub ...) elsewhere in the template are
	// tags this test has no use for.
	var strip func(n *yaml.Node)
	strip = func(n *yaml.Node) {
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			n.Tag = ""
		}
		for _, c := range n.Content {
			strip(c)
		}
	}
	strip(&root)
	var doc struct {
		Resources map[string]yaml.Node `yaml:"Resources"`
	}
	if err := root.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var tbl templateTable
	for _, n := range doc.Resources {
		var r templateTable
		if err := n.Decode(&r); err == nil && r.Type == "AWS::DynamoDB::Table" {
			tbl = r
		}
	}
	if tbl.Type == "" {
		t.Fatal("template.yaml has no AWS::DynamoDB::Table resource")
	}
	return tbl
}

func keysOf(ks []types.KeySchemaElement) []keyElem {
	var out []keyElem
	for _, k := range ks {
		out = append(out, keyElem{aws.ToString(k.AttributeName), string(k.KeyType)})
	}
	return out
}

// TestCreateTableMatchesTemplate: the table the tests (and the AWS-local
// mode) run on is the one template.yaml deploys.
func TestCreateTableMatchesTemplate(t *testing.T) {
	want := readTemplateTable(t).Properties
	ctx := t.Context()
	name := newTable(t)
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("CreateTable of an existing table (must be a no-op): %v", err)
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	got := out.Table
	if got.TableStatus != types.TableStatusActive {
		t.Errorf("status %s, want ACTIVE", got.TableStatus)
	}
	if got.BillingModeSummary == nil || string(got.BillingModeSummary.BillingMode) != want.BillingMode {
		t.Errorf("billing mode %+v, want %s", got.BillingModeSummary, want.BillingMode)
	}
	var gotAttrs, wantAttrs []string
	for _, a := range got.AttributeDefinitions {
		gotAttrs = append(gotAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	for _, a := range want.AttributeDefinitions {
		wantAttrs = append(wantAttrs, a.AttributeName+":"+a.AttributeType)
	}
	sort.Strings(gotAttrs)
	sort.Strings(wantAttrs)
	if !slices.Equal(gotAttrs, wantAttrs) {
		t.Errorf("attribute definitions %v, want %v", gotAttrs, wantAttrs)
	}
	if !slices.Equal(keysOf(got.KeySchema), want.KeySchema) {
		t.Errorf("key schema %v, want %v", keysOf(got.KeySchema), want.KeySchema)
	}
	gsis := map[string]types.GlobalSecondaryIndexDescription{}
	for _, g := range got.GlobalSecondaryIndexes {
		gsis[aws.ToString(g.IndexName)] = g
	}
	if len(gsis) != len(want.GlobalSecondaryIndexes) {
		t.Errorf("%d global secondary indexes, want %d", len(gsis), len(want.GlobalSecondaryIndexes))
	}
	for _, w := range want.GlobalSecondaryIndexes {
		g, ok := gsis[w.IndexName]
		if !ok {
			t.Errorf("index %s is missing", w.IndexName)
			continue
		}
		if !slices.Equal(keysOf(g.KeySchema), w.KeySchema) {
			t.Errorf("index %s: key schema %v, want %v", w.IndexName, keysOf(g.KeySchema), w.KeySchema)
		}
		if g.Projection == nil || string(g.Projection.ProjectionType) != w.Projection.ProjectionType {
			t.Errorf("index %s: projection %+v, want %s", w.IndexName, g.Projection, w.Projection.ProjectionType)
		}
	}
	if s := got.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) || string(s.StreamViewType) != want.StreamSpecification.StreamViewType {
		t.Errorf("stream %+v, want %s", got.StreamSpecification, want.StreamSpecification.StreamViewType)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; !want.TimeToLiveSpecification.Enabled || d == nil ||
		aws.ToString(d.AttributeName) != want.TimeToLiveSpecification.AttributeName || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL %+v, want enabled on %q", ttl.TimeToLiveDescription, want.TimeToLiveSpecification.AttributeName)
	}
}

// fixture writes a small organization: a program, a referrer, a referral
// and a conversion. IDs sort by creation like the services' ULIDs.
type fixture struct {
	org      domain.Organization
	program  domain.Program
	referrer domain.Referrer
	referral domain.Referral
	conv     domain.Conversion
}

func seed(t *testing.T, s *dynamo.Store, tag string) fixture {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	ids := domain.NewULIDs(func() time.Time { return now })
	var fx fixture
	fx.org = domain.Organization{ID: ids("org"), Name: "Acme", CreatedAt: now}
	fx.program = domain.Program{ID: ids("prg"), OrgID: fx.org.ID, Name: "P", Status: domain.ProgramActive,
		LandingURL: "https://example.com/", Currency: "EUR", StartsAt: now, AttributionWindowDays: 30,
		QualifyingEvents: []string{domain.EventPurchase},
		Commission:       domain.CommissionRule{Type: domain.RuleFlat, Amount: aws.Int64(100)}, CreatedAt: now, UpdatedAt: now}
	fx.referrer = domain.Referrer{ID: ids("rfr"), OrgID: fx.org.ID, ProgramID: fx.program.ID, Email: "jane." + tag + "@example.com",
		Name: "Jane", Code: "JANE" + strings.ToUpper(tag), CreatedAt: now}
	fx.referral = domain.Referral{ID: ids("rfl"), OrgID: fx.org.ID, ProgramID: fx.program.ID, ReferrerID: fx.referrer.ID,
		Email: "amy@example.com", ExternalID: "crm-1", Status: domain.ReferralPending, CreatedAt: now}
	fx.conv = domain.Conversion{ID: ids("cnv"), OrgID: fx.org.ID, ReferralID: fx.referral.ID, ProgramID: fx.program.ID,
		ReferrerID: fx.referrer.ID, Event: domain.EventPurchase, Amount: &domain.Money{Amount: 5000, Currency: "EUR"},
		ExternalID: "order-1", OccurredAt: now, RefundedAmount: domain.Money{Currency: "EUR"}, CreatedAt: now}
	steps := []struct {
		what string
		do   func() error
	}{
		{"CreateOrganization", func() error { return s.CreateOrganization(ctx, fx.org) }},
		{"CreateProgram", func() error { return s.CreateProgram(ctx, fx.program) }},
		{"CreateReferrer", func() error { return s.CreateReferrer(ctx, fx.referrer) }},
		{"CreateReferral", func() error { return s.CreateReferral(ctx, fx.referral) }},
		{"RecordConversion", func() error { return s.RecordConversion(ctx, fx.conv, nil) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
	}
	return fx
}

// scan returns every item of the table by its "PK|SK".
func scan(t *testing.T, table string) map[string]map[string]types.AttributeValue {
	t.Helper()
	out := map[string]map[string]types.AttributeValue{}
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			out[s(it, "PK")+"|"+s(it, "SK")] = it
		}
	}
	return out
}

func s(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// TestItemLayout pins the single-table layout of docs/dynamodb.md: the
// stream router and anyone reading the table with the AWS CLI rely on it.
func TestItemLayout(t *testing.T) {
	table := newTable(t)
	st := dynamo.New(client, table)
	fx := seed(t, st, "layout")
	click := domain.Click{OrgID: fx.org.ID, ProgramID: fx.program.ID, ReferrerID: fx.referrer.ID,
		Code: fx.referrer.Code, VisitorHash: "0123456789abcdef0123456789abcdef", At: fx.referral.CreatedAt}
	click.ID = "clk_" + strings.TrimPrefix(fx.referral.ID, "rfl_")
	if counted, err := st.RecordClick(t.Context(), click, store.ClickLimits{Window: time.Hour}); err != nil || !counted {
		t.Fatalf("RecordClick = %v, %v", counted, err)
	}
	items := scan(t, table)
	o := "ORG#" + fx.org.ID
	clk := dynamo.ShardOf(click.ID, 32)
	// The shards: 8 of an organization's referrals, 4 of its conversions,
	// 4 of each index partition of referrals and conversions.
	rfl, rflIdx := dynamo.ShardOf(fx.referral.ID, 8), dynamo.ShardOf(fx.referral.ID, 4)
	cnv := dynamo.ShardOf(fx.conv.ID, 4)
	want := map[string]map[string]string{ // PK|SK → attributes
		"TABLE|LAYOUT":                       {"type": "layout"},
		o + "|ORG":                           {"type": "organization", "name": "Acme"},
		o + "|PROGRAM#" + fx.program.ID:      {"type": "program"},
		o + "|REFERRER#" + fx.referrer.ID:    {"type": "referrer", "GSI1PK": o + "#PROGRAM#" + fx.program.ID, "GSI1SK": "REFERRER#" + fx.referrer.ID},
		"CODE#" + fx.referrer.Code + "|CODE": {"type": "code_guard", "organizationId": fx.org.ID, "referrerId": fx.referrer.ID},
		o + "#REFERRER_EMAIL#" + fx.referrer.Email + "|PROGRAM#" + fx.program.ID: {"type": "referrer_email_guard", "referrerId": fx.referrer.ID},
		fmt.Sprintf("%s#REFERRALS#%02d|REFERRAL#%s", o, rfl, fx.referral.ID): {"type": "referral", "status": "converted",
			"GSI1PK": fmt.Sprintf("%s#PROGRAM#%s#REFERRALS#%02d", o, fx.program.ID, rflIdx), "GSI1SK": "REFERRAL#" + fx.referral.ID,
			"GSI2PK": fmt.Sprintf("%s#REFERRER#%s#REFERRALS#%02d", o, fx.referrer.ID, rflIdx), "GSI2SK": "REFERRAL#" + fx.referral.ID,
			"convertedAt": fx.conv.OccurredAt.Format(time.RFC3339Nano), "createdAt": fx.referral.CreatedAt.Format(time.RFC3339Nano)},
		o + "#REFERRAL_EMAIL#amy@example.com|PROGRAM#" + fx.program.ID: {"type": "referral_email_guard", "referralId": fx.referral.ID},
		o + "#REFERRAL_EXT#crm-1|REFERRAL_EXT":                         {"type": "referral_external_id_guard", "referralId": fx.referral.ID},
		fmt.Sprintf("%s#CONVERSIONS#%02d|CONVERSION#%s", o, cnv, fx.conv.ID): {"type": "conversion",
			"GSI1PK": fmt.Sprintf("%s#PROGRAM#%s#CONVERSIONS#%02d", o, fx.program.ID, cnv), "GSI1SK": "CONVERSION#" + fx.conv.ID,
			"GSI2PK": o + "#REFERRAL#" + fx.referral.ID, "GSI2SK": "CONVERSION#" + fx.conv.ID},
		o + "#CONVERSION_EXT#order-1|CONVERSION_EXT": {"type": "conversion_external_id_guard", "conversionId": fx.conv.ID},
	}
	want[fmt.Sprintf("%s#CLICKS#%02d|CLICK#%s", o, clk, click.ID)] = map[string]string{"type": "click",
		"GSI2PK": fmt.Sprintf("%s#REFERRER#%s#CLICKS#%02d", o, fx.referrer.ID, dynamo.ShardOf(click.ID, 8)), "GSI2SK": "CLICK#" + click.ID}
	want["VISIT#"+click.VisitorHash+"#"+fx.referrer.Code+"|VISIT"] = map[string]string{"type": "visit"}
	// The search words (lists.go): one item per word of a name or e-mail,
	// in its kind's 16 shards.
	for _, w := range []struct{ kind, word, id string }{
		{"referrer", "jane", fx.referrer.ID}, {"referrer", fx.referrer.Email, fx.referrer.ID}, {"referral", "amy@example.com", fx.referral.ID},
	} {
		want[fmt.Sprintf("%s#WORDS#%s#%02d|%s #%s", o, w.kind, dynamo.ShardOf(w.id, 16), w.word, w.id)] = map[string]string{"type": "search_word", "id": w.id}
	}
	for i := range 16 { // the referrer's click counter
		want[fmt.Sprintf("%s#REFERRER#%s#CLICK_COUNT#%02d|COUNT", o, fx.referrer.ID, i)] = map[string]string{"type": "click_count"}
	}
	for k, attrs := range want {
		it, ok := items[k]
		if !ok {
			t.Errorf("no item %s", k)
			continue
		}
		for a, v := range attrs {
			if got := s(it, a); got != v {
				t.Errorf("item %s: %s = %q, want %q", k, a, got, v)
			}
		}
	}
	if len(items) != len(want) {
		var extra []string
		for k := range items {
			if _, ok := want[k]; !ok {
				extra = append(extra, k)
			}
		}
		t.Errorf("%d items, want %d; unexpected: %v", len(items), len(want), extra)
	}
}

// TestCapacityRecorder: every store call reports what it consumed, once,
// under its own name.
func TestCapacityRecorder(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	units := map[string][2]float64{}
	st := newStore(t, dynamo.WithCapacityRecorder(func(op string, c []types.ConsumedCapacity) {
		r, w := dynamo.Units(c)
		mu.Lock()
		defer mu.Unlock()
		calls[op]++
		u := units[op]
		units[op] = [2]float64{u[0] + r, u[1] + w}
	}))
	fx := seed(t, st, "capacity")
	ctx := t.Context()
	now := time.Now().UTC()
	click := domain.Click{ID: fx.referrer.ID + "c1", OrgID: fx.org.ID, ProgramID: fx.program.ID, ReferrerID: fx.referrer.ID,
		Code: fx.referrer.Code, VisitorHash: "v1", At: now}
	user := domain.User{ID: "usr_1", OrgID: fx.org.ID, Email: "ada.capacity@example.com", Role: domain.RoleAdmin, Status: domain.UserActive, CreatedAt: now, UpdatedAt: now}
	key := domain.APIKey{ID: "key_1", OrgID: fx.org.ID, Name: "crm", Hash: "hash-capacity", CreatedAt: now}
	sess := domain.Session{TokenHash: "token-capacity", OrgID: fx.org.ID, UserID: user.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	updated := fx.program
	updated.Name = "Q"
	steps := []struct {
		what string
		do   func() error
	}{
		{"GetReferrerByCode", func() error { _, err := st.GetReferrerByCode(ctx, fx.referrer.Code); return err }},
		{"GetProgram", func() error { _, err := st.GetProgram(ctx, fx.org.ID, fx.program.ID); return err }},
		{"UpdateProgram", func() error { return st.UpdateProgram(ctx, updated) }},
		{"RecordClick", func() error { _, err := st.RecordClick(ctx, click, store.ClickLimits{Window: time.Hour}); return err }},
		{"RecordClick(duplicate)", func() error {
			c := click
			c.ID += "2"
			_, err := st.RecordClick(ctx, c, store.ClickLimits{Window: time.Hour})
			return err
		}},
		{"CreateUser", func() error { return st.CreateUser(ctx, user) }},
		{"GetUserByEmail", func() error { _, err := st.GetUserByEmail(ctx, user.Email); return err }},
		{"CreateAPIKey", func() error { return st.CreateAPIKey(ctx, key) }},
		{"GetAPIKeyByHash", func() error { _, err := st.GetAPIKeyByHash(ctx, key.Hash); return err }},
		{"CreateSession", func() error { return st.CreateSession(ctx, sess) }},
		{"GetSession", func() error { _, err := st.GetSession(ctx, sess.TokenHash); return err }},
		{"ReferralsByEmail", func() error { _, err := st.ReferralsByEmail(ctx, fx.org.ID, fx.referral.Email); return err }},
		{"ListReferrals", func() error {
			_, _, err := st.ListReferrals(ctx, fx.org.ID, store.ReferralFilter{ProgramID: fx.program.ID}, store.Page{Limit: 10})
			return err
		}},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for op, wantCalls := range map[string]int{"CreateOrganization": 1, "CreateReferrer": 1, "RecordConversion": 1,
		"GetReferrerByCode": 1, "ListReferrals": 1, "RecordClick": 2} {
		if calls[op] != wantCalls {
			t.Errorf("%s reported %d times, want %d", op, calls[op], wantCalls)
		}
	}
	ops := slices.Sorted(maps.Keys(units))
	for _, op := range ops {
		u := units[op]
		t.Logf("%-26s calls %d  RCU %4.1f  WCU %4.1f", op, calls[op], u[0], u[1])
	}
	if u := units["GetReferrerByCode"]; u[0] <= 0 || u[1] != 0 {
		t.Errorf("GetReferrerByCode consumed RCU %v WCU %v, want reads only", u[0], u[1])
	}
	if u := units["CreateReferrer"]; u[1] <= 0 || u[0] != 0 {
		t.Errorf("CreateReferrer consumed RCU %v WCU %v, want writes only", u[0], u[1])
	}
	if u := units["RecordConversion"]; u[0] <= 0 || u[1] <= 0 {
		t.Errorf("RecordConversion consumed RCU %v WCU %v, want both (it reads the referral)", u[0], u[1])
	}
}

// TestCursorOfAnotherList: a cursor is good only for the list that issued it.
func TestCursorOfAnotherList(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	a, b := seed(t, st, "a"), seed(t, st, "b")
	for i := range 3 {
		r := a.referral
		r.ID, r.Email, r.ExternalID = r.ID+string(rune('a'+i)), string(rune('a'+i))+"@example.com", ""
		if err := st.CreateReferral(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	_, next, err := st.ListReferrals(ctx, a.org.ID, store.ReferralFilter{}, store.Page{Limit: 2})
	if err != nil || next == "" {
		t.Fatalf("ListReferrals(page 1) = %q, %v; want a next cursor", next, err)
	}
	for name, list := range map[string]func() error{
		"another organization": func() error {
			_, _, err := st.ListReferrals(ctx, b.org.ID, store.ReferralFilter{}, store.Page{Limit: 2, Cursor: next})
			return err
		},
		"a filtered list": func() error {
			_, _, err := st.ListReferrals(ctx, a.org.ID, store.ReferralFilter{Status: domain.ReferralPending}, store.Page{Limit: 2, Cursor: next})
			return err
		},
		"another kind of record": func() error {
			_, _, err := st.ListConversions(ctx, a.org.ID, store.ConversionFilter{}, store.Page{Limit: 2, Cursor: next})
			return err
		},
	} {
		if err := list(); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("cursor used on %s: %v, want store.ErrBadCursor", name, err)
		}
	}
}

// TestMissingTable: a store on a table that does not exist fails loudly,
// and not as store.ErrNotFound (which would read as a 404).
func TestMissingTable(t *testing.T) {
	st := dynamo.New(client, "no-such-table")
	_, err := st.GetOrganization(context.Background(), "org_1")
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetOrganization on a missing table: %v, want an error that is not store.ErrNotFound", err)
	}
}

// TestRepeatedPutOfTheSameRecord: a single-item create or update whose
// request is retried after it landed (a lost response; the SDK retries on
// its own) finds its own item and succeeds; any other record with the same
// key is still a conflict.
func TestRepeatedPutOfTheSameRecord(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	fx := seed(t, st, "repeat")
	if err := st.CreateProgram(ctx, fx.program); err != nil {
		t.Errorf("CreateProgram(the same record again): %v, want nil", err)
	}
	other := fx.program
	other.Name = "Another"
	if err := st.CreateProgram(ctx, other); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateProgram(another record, same id): %v, want store.ErrConflict", err)
	}
	edit := fx.program
	edit.Name = "Edited"
	if err := st.UpdateProgram(ctx, edit); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateProgram(ctx, edit); err != nil {
		t.Errorf("UpdateProgram(the same update again): %v, want nil", err)
	}
	edit.Name = "Edited differently"
	if err := st.UpdateProgram(ctx, edit); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateProgram(another update at the old revision): %v, want store.ErrConflict", err)
	}
	got, err := st.GetProgram(ctx, fx.org.ID, fx.program.ID)
	if err != nil || got.Name != "Edited" || got.Revision != 1 {
		t.Errorf("GetProgram = %q rev %d, %v; want \"Edited\" rev 1", got.Name, got.Revision, err)
	}
}

// TestAnalyticsItemLayout pins the analytics items of docs/dynamodb.md
// ("Analytics"): after one rollup, the feed item with its committed run,
// the organization's rollup state, and a cell with its keys and figures.
func TestAnalyticsItemLayout(t *testing.T) {
	table := newTable(t)
	st := dynamo.New(client, table, dynamo.WithStreams(streams, 100*time.Millisecond))
	fx := seed(t, st, "anlayout")
	job := &analytics.Rollup{Store: st, HealEvery: -1}
	if _, err := job.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	items := scan(t, table)
	o := "ORG#" + fx.org.ID
	day := fx.conv.OccurredAt.UTC().Format("2006-01-02")
	want := map[string]map[string]string{
		"ANALYTICS#FEED|STATE":          {"type": "analytics_feed"},
		o + "#AN|STATE":                 {"type": "analytics_org", "timeZone": "UTC"},
		o + "#AN#1#org#|D#" + day + "#": {"type": "analytics_cell", "GSI1PK": ""},
		o + "#AN#1#referrer#" + fx.referrer.ID + "|D#" + day + "#EUR": {"type": "analytics_cell", "programId": fx.program.ID,
			"GSI1PK": o + "#AN#1#referrer#D#" + day, "GSI1SK": fx.referrer.ID + "#EUR"},
	}
	for k, attrs := range want {
		it, ok := items[k]
		if !ok {
			t.Errorf("no item %s", k)
			continue
		}
		for name, v := range attrs {
			if got := s(it, name); got != v {
				t.Errorf("%s: %s = %q, want %q", k, name, got, v)
			}
		}
	}
	cell := items[o+"#AN#1#org#|D#"+day+"#"]
	for name, want := range map[string]string{"referrals": "1", "conversions": "1", "converted_referrals": "1", "lastRun": "1"} {
		if n, _ := cell[name].(*types.AttributeValueMemberN); n == nil || n.Value != want {
			t.Errorf("the organization's day cell: %s = %v, want %s", name, cell[name], want)
		}
	}
	if n, _ := items[o+"#AN|STATE"]["gen"].(*types.AttributeValueMemberN); n == nil || n.Value != "1" {
		t.Errorf("the organization's rollup state: gen = %v, want 1", items[o+"#AN|STATE"]["gen"])
	}
	if w := s(items[fmt.Sprintf("%s#CONVERSIONS#%02d|CONVERSION#%s", o, dynamo.ShardOf(fx.conv.ID, 4), fx.conv.ID)], "writtenAt"); w == "" {
		t.Error("a conversion has no writtenAt")
	}
}
