// Command capacity measures the DynamoDB capacity units each tracking
// operation consumes, by running the real HTTP handlers on the DynamoDB
// adapter against DynamoDB Local, then what the commission pipeline's store
// work costs per conversion (the calculator handling each conversion's
// conversion.recorded message, under a percentage rule and a tiered rule,
// and a duplicate delivery), and prints the cost per million conversions at
// on-demand prices.
//
// Two figures are given for everything. "Local" is what DynamoDB Local
// (3.3.0) reports with ReturnConsumedCapacity TOTAL, which is not what
// DynamoDB bills: it does not price a TransactWriteItems item by item (one,
// two or three Puts of items under 1 KB are all reported as 2 units, where
// DynamoDB bills 2 per item), it counts index writes in a transaction twice,
// and it reports 0 for reads that find nothing (an empty Query, BatchGetItem
// keys that do not exist), which DynamoDB bills at the minimum. "AWS" prices
// every request from the request and the items it touched by DynamoDB's
// published rules (see estimator): the figure to budget with.
//
//	go run ./infra/local/capacity [-n 50] [-wru-price 0.625] [-rru-price 0.125]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/emulators"
	"github.com/partnerloop/partnerloop/internal/pipeline"
	"github.com/partnerloop/partnerloop/internal/store"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
)

// units are read and write units, as DynamoDB Local reported them and as
// the estimator prices them on AWS.
type units struct{ r, w, awsR, awsW float64 }

func (u units) add(v units) units {
	return units{u.r + v.r, u.w + v.w, u.awsR + v.awsR, u.awsW + v.awsW}
}

func (u units) div(n float64) units { return units{u.r / n, u.w / n, u.awsR / n, u.awsW / n} }

// meter adds up capacity per step of the flow and per store call. The
// flow runs in one goroutine, so the requests the estimator prices between
// two store calls' reports belong to the second.
type meter struct {
	mu      sync.Mutex
	step    string
	total   map[string]units            // step → units
	calls   map[string][]string         // step → store calls, in order of first use
	perCall map[string]map[string]units // step → store call → units
	pending units                       // priced by the estimator, not yet reported by a store call
}

func newMeter() *meter {
	return &meter{total: map[string]units{}, calls: map[string][]string{}, perCall: map[string]map[string]units{}, step: "setup"}
}

func (m *meter) record(op string, c []types.ConsumedCapacity) {
	r, w := dynamo.Units(c)
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.pending
	u.r, u.w = r, w
	m.pending = units{}
	m.total[m.step] = m.total[m.step].add(u)
	if !contains(m.calls[m.step], op) {
		m.calls[m.step] = append(m.calls[m.step], op)
	}
	if m.perCall[m.step] == nil {
		m.perCall[m.step] = map[string]units{}
	}
	m.perCall[m.step][op] = m.perCall[m.step][op].add(u)
}

// priced takes the estimator's price of one request.
func (m *meter) priced(r, w float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending.awsR += r
	m.pending.awsW += w
}

func (m *meter) setStep(step string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.step = step
}

// estimator prices each DynamoDB request as an on-demand table bills it
// (DynamoDB developer guide, "Read and write operations" and "Capacity
// management for transactions"): reads 1 unit per 4 KB, rounded up per
// item for GetItem and BatchGetItem and over the items returned for Query,
// half that when eventually consistent, and at least one (half) unit even
// when nothing is found; writes 1 unit per KB of the larger of the item
// before and after, at least 1, doubled inside TransactWriteItems, plus 1
// unit per KB for every global secondary index entry written or removed
// (2 when the entry's key changes). Items are sized as DynamoDB sizes them
// (attribute names and values), read before and after each write through
// a client that is not measured. Assumptions where the guide is silent:
// GSI writes of a transaction are not doubled (they propagate after the
// commit); a failed conditional write or a cancelled transaction costs what
// it would have written on the items as they were, without GSI writes; a
// ConditionCheck costs like a transactional write of its item. Query
// prices the items returned, which is what it reads when, as here, it has
// no filter expression.
type estimator struct {
	raw   *dynamodb.Client // unmeasured
	table string
	key   []string    // the table's key attributes
	gsis  [][2]string // each global secondary index's hash and range key attributes
	price func(r, w float64)
}

func newEstimator(ctx context.Context, raw *dynamodb.Client, table string, price func(r, w float64)) (*estimator, error) {
	out, err := raw.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return nil, err
	}
	e := &estimator{raw: raw, table: table, price: price}
	for _, k := range out.Table.KeySchema {
		e.key = append(e.key, aws.ToString(k.AttributeName))
	}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		var hr [2]string
		for _, k := range g.KeySchema {
			if k.KeyType == types.KeyTypeHash {
				hr[0] = aws.ToString(k.AttributeName)
			} else {
				hr[1] = aws.ToString(k.AttributeName)
			}
		}
		e.gsis = append(e.gsis, hr)
	}
	return e, nil
}

// register adds the estimator to a client's middleware stack.
func (e *estimator) register(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("CapacityEstimate", e.handle), middleware.After)
}

type item = map[string]types.AttributeValue

// write is one item a request writes (or checks).
type write struct {
	key      item
	put      item // the new item of a Put
	tx       bool
	check    bool // a ConditionCheck
	deleting bool
}

func (e *estimator) handle(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	writes := e.writes(in.Parameters)
	before := make([]item, len(writes))
	for i, w := range writes {
		before[i] = e.get(ctx, w.key)
	}
	out, md, err := next.HandleInitialize(ctx, in)
	var r, wu float64
	switch p := in.Parameters.(type) {
	case *dynamodb.GetItemInput:
		if res, ok := out.Result.(*dynamodb.GetItemOutput); ok && err == nil {
			r = readUnits(dynamo.ItemSize(res.Item), aws.ToBool(p.ConsistentRead))
		}
	case *dynamodb.BatchGetItemInput:
		if res, ok := out.Result.(*dynamodb.BatchGetItemOutput); ok && err == nil {
			for table, ka := range p.RequestItems {
				found := map[string]int{}
				for _, it := range res.Responses[table] {
					found[e.keyString(it)] = dynamo.ItemSize(it)
				}
				for _, k := range ka.Keys {
					r += readUnits(found[e.keyString(k)], aws.ToBool(ka.ConsistentRead))
				}
			}
		}
	case *dynamodb.QueryInput:
		if res, ok := out.Result.(*dynamodb.QueryOutput); ok && err == nil {
			size := 0
			for _, it := range res.Items {
				size += dynamo.ItemSize(it)
			}
			r = readUnits(size, aws.ToBool(p.ConsistentRead))
		}
	}
	for i, w := range writes {
		wu += e.writeUnits(ctx, w, before[i], err == nil)
	}
	e.price(r, wu)
	return out, md, err
}

// writes lists the items a write request touches.
func (e *estimator) writes(params any) []write {
	var ws []write
	switch p := params.(type) {
	case *dynamodb.PutItemInput:
		ws = append(ws, write{key: e.keyOf(p.Item), put: p.Item})
	case *dynamodb.UpdateItemInput:
		ws = append(ws, write{key: p.Key})
	case *dynamodb.DeleteItemInput:
		ws = append(ws, write{key: p.Key, deleting: true})
	case *dynamodb.BatchWriteItemInput:
		for _, reqs := range p.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil {
					ws = append(ws, write{key: e.keyOf(r.PutRequest.Item), put: r.PutRequest.Item})
				} else if r.DeleteRequest != nil {
					ws = append(ws, write{key: r.DeleteRequest.Key, deleting: true})
				}
			}
		}
	case *dynamodb.TransactWriteItemsInput:
		for _, t := range p.TransactItems {
			switch {
			case t.Put != nil:
				ws = append(ws, write{key: e.keyOf(t.Put.Item), put: t.Put.Item, tx: true})
			case t.Update != nil:
				ws = append(ws, write{key: t.Update.Key, tx: true})
			case t.Delete != nil:
				ws = append(ws, write{key: t.Delete.Key, tx: true, deleting: true})
			case t.ConditionCheck != nil:
				ws = append(ws, write{key: t.ConditionCheck.Key, tx: true, check: true})
			}
		}
	}
	return ws
}

// writeUnits prices one written item: the larger of its sizes before and
// after, and its index entries.
func (e *estimator) writeUnits(ctx context.Context, w write, before item, ok bool) float64 {
	factor := 1.0
	if w.tx {
		factor = 2
	}
	after := before
	switch {
	case !ok || w.check:
	case w.put != nil:
		after = w.put
	case w.deleting:
		after = nil
	default:
		after = e.get(ctx, w.key)
	}
	units := factor * writeUnitsOf(max(dynamo.ItemSize(before), dynamo.ItemSize(after)))
	if !ok || w.check {
		return units
	}
	for _, g := range e.gsis {
		kb, ka := gsiKey(before, g), gsiKey(after, g)
		switch {
		case kb == "" && ka == "":
		case kb == ka, kb == "":
			units += writeUnitsOf(dynamo.ItemSize(after))
		case ka == "":
			units += writeUnitsOf(dynamo.ItemSize(before))
		default: // the entry moves: a delete and a put
			units += writeUnitsOf(dynamo.ItemSize(before)) + writeUnitsOf(dynamo.ItemSize(after))
		}
	}
	return units
}

// get reads an item through the unmeasured client (nil: none).
func (e *estimator) get(ctx context.Context, key item) item {
	out, err := e.raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || len(out.Item) == 0 {
		return nil
	}
	return out.Item
}

func (e *estimator) keyOf(it item) item {
	k := item{}
	for _, a := range e.key {
		k[a] = it[a]
	}
	return k
}

func (e *estimator) keyString(it item) string {
	var b strings.Builder
	for _, a := range e.key {
		if s, ok := it[a].(*types.AttributeValueMemberS); ok {
			b.WriteString(s.Value)
		}
		b.WriteByte(0)
	}
	return b.String()
}

// gsiKey is an item's key in an index, "" when the item is not in it.
func gsiKey(it item, g [2]string) string {
	h, ok := it[g[0]].(*types.AttributeValueMemberS)
	if !ok {
		return ""
	}
	if g[1] == "" {
		return h.Value
	}
	r, ok := it[g[1]].(*types.AttributeValueMemberS)
	if !ok {
		return ""
	}
	return h.Value + "\x00" + r.Value
}

// readUnits: 1 per 4 KB, at least 1, half when eventually consistent.
func readUnits(size int, consistent bool) float64 {
	u := float64(max(1, (size+4095)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// writeUnitsOf: 1 per KB, at least 1.
func writeUnitsOf(size int) float64 { return float64(max(1, (size+1023)/1024)) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 50, "how many times to run the flow")
	wruPrice := flag.Float64("wru-price", 0.625, "USD per million write request units (on-demand, us-east-1, since Nov 2024)")
	rruPrice := flag.Float64("rru-price", 0.125, "USD per million read request units (on-demand, us-east-1, since Nov 2024)")
	flag.Parse()
	ctx := context.Background()

	nm, err := emulators.NodeModules()
	if err != nil {
		return err
	}
	ddb, err := emulators.StartDynamoDB(nm, emulators.DynamoDBOptions{})
	if err != nil {
		return err
	}
	defer ddb.Stop()
	opts := dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ddb.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
	raw := dynamodb.New(opts)
	if err := dynamo.CreateTable(ctx, raw, "capacity"); err != nil {
		return err
	}
	m := newMeter()
	est, err := newEstimator(ctx, raw, "capacity", m.priced)
	if err != nil {
		return err
	}
	client := dynamodb.New(opts, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, est.register) })
	st := dynamo.New(client, "capacity", dynamo.WithCapacityRecorder(m.record))
	cfg, err := app.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		return err
	}
	// The clock runs with an offset that the admin flows move past the
	// commissions' hold period, to approve them.
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().UTC().Add(time.Duration(offset.Load())) }
	a := app.New(cfg, st, clock, domain.NewULIDs(clock), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, _, _, err := a.Identity.Bootstrap(ctx, "Capacity", "admin@example.com", "capacity-password"); err != nil {
		return err
	}
	h := a.API.Handler()
	setStep := m.setStep
	// Each visitor comes from its own address, as people do: one address
	// counts only so many clicks (tracking.ClicksPerAddress and
	// CountedRedirectsPerAddress).
	remote := "203.0.113.5:1234"
	call := func(step, method, path, token, body, ua string) (int, map[string]any) {
		setStep(step)
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = remote
		req.Header.Set("User-Agent", ua)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&out)
		return rec.Code, out
	}
	_, login := call("login", "POST", "/v1/auth/login", "", `{"email":"admin@example.com","password":"capacity-password"}`, "cli")
	token, _ := login["token"].(string)
	_, key := call("setup", "POST", "/v1/api-keys", token, `{"name":"capacity"}`, "cli")
	apiKey, _ := key["key"].(string)
	_, prog := call("setup", "POST", "/v1/programs", token, `{"name":"Capacity","landingUrl":"https://example.com","currency":"USD",
		"startsAt":"2026-01-01T00:00:00Z","attributionWindowDays":30,"qualifyingEvents":["purchase"],
		"commission":{"type":"percentage","rateBps":1000}}`, "cli")
	programID, _ := prog["id"].(string)
	call("setup", "POST", "/v1/programs/"+programID+"/activate", token, "", "cli")

	// A second program with a tiered rule (monthly, by count), whose
	// conversions the calculator prices with a running-total slot each.
	_, tprog := call("setup", "POST", "/v1/programs", token, `{"name":"Capacity tiered","landingUrl":"https://example.com","currency":"USD",
		"startsAt":"2026-01-01T00:00:00Z","attributionWindowDays":30,"qualifyingEvents":["purchase"],
		"commission":{"type":"tiered","basis":"count","period":"month","tiers":[{"upTo":10,"rateBps":1000},{"upTo":null,"rateBps":1500}]}}`, "cli")
	tieredID, _ := tprog["id"].(string)
	if st, out := call("setup", "POST", "/v1/programs/"+tieredID+"/activate", token, "", "cli"); st != http.StatusOK {
		return fmt.Errorf("activate the tiered program: %d %v", st, out)
	}

	// recorded turns a conversion as the API returned it into the
	// conversion.recorded message its stream record routes to.
	recorded := func(conv map[string]any) (pipeline.Message, error) {
		img, err := json.Marshal(conv)
		if err != nil {
			return pipeline.Message{}, err
		}
		id, _ := conv["id"].(string)
		org, _ := conv["organizationId"].(string)
		msgs, err := pipeline.Route(store.Change{Entity: pipeline.EntityConversion, Op: pipeline.OpInsert, OrgID: org, ID: id,
			NewImage: img, At: time.Now().UTC()})
		if err != nil || len(msgs) != 1 || msgs[0].Type != pipeline.TypeConversionRecorded {
			return pipeline.Message{}, fmt.Errorf("conversion %s routes to %v, %v", id, msgs, err)
		}
		return msgs[0], nil
	}
	var pctMsgs, tieredMsgs []pipeline.Message

	steps := []string{"enrol referrer", "click (new visitor)", "click (repeat, not counted)", "referral", "conversion", "conversion retry (same externalId)"}
	for i := 0; i < *n; i++ {
		st, ref := call(steps[0], "POST", "/v1/programs/"+programID+"/referrers", apiKey, fmt.Sprintf(`{"email":"r%d@example.com"}`, i), "cli")
		code, _ := ref["code"].(string)
		if st != 201 {
			return fmt.Errorf("enrol: %d %v", st, ref)
		}
		ua := fmt.Sprintf("Mozilla/5.0 (visitor %d)", i)
		remote = fmt.Sprintf("10.%d.%d.%d:1234", i>>16&255, i>>8&255, i&255)
		for _, s := range steps[1:3] {
			if st, _ := call(s, "GET", "/r/"+code, "", "", ua); st != http.StatusFound {
				return fmt.Errorf("%s: %d", s, st)
			}
		}
		st, rfl := call(steps[3], "POST", "/v1/referrals", apiKey, fmt.Sprintf(`{"code":%q,"email":"f%d@example.org"}`, code, i), "cli")
		if st != 201 {
			return fmt.Errorf("referral: %d %v", st, rfl)
		}
		body := fmt.Sprintf(`{"referralId":%q,"event":"purchase","amount":4999,"externalId":"order-%d"}`, rfl["id"], i)
		st, conv := call(steps[4], "POST", "/v1/conversions", apiKey, body, "cli")
		if st != 201 {
			return fmt.Errorf("conversion: %d %v", st, conv)
		}
		if st, c := call(steps[5], "POST", "/v1/conversions", apiKey, body, "cli"); st != 200 {
			return fmt.Errorf("conversion retry: %d %v", st, c)
		}
		msg, err := recorded(conv)
		if err != nil {
			return err
		}
		pctMsgs = append(pctMsgs, msg)
	}

	// The tiered program's conversions (their API calls are setup, not
	// measured): five referrers, so that most conversions find their
	// running total started, as most of a partner's conversions of a month
	// do.
	var tieredCodes []string
	for i := range min(5, *n) {
		st, ref := call("setup", "POST", "/v1/programs/"+tieredID+"/referrers", apiKey, fmt.Sprintf(`{"email":"t%d@example.com"}`, i), "cli")
		if st != 201 {
			return fmt.Errorf("enrol in the tiered program: %d %v", st, ref)
		}
		code, _ := ref["code"].(string)
		tieredCodes = append(tieredCodes, code)
	}
	for i := 0; i < *n; i++ {
		code := tieredCodes[i%len(tieredCodes)]
		st, rfl := call("setup", "POST", "/v1/referrals", apiKey, fmt.Sprintf(`{"code":%q,"email":"g%d@example.org"}`, code, i), "cli")
		if st != 201 {
			return fmt.Errorf("tiered referral: %d %v", st, rfl)
		}
		body := fmt.Sprintf(`{"referralId":%q,"event":"purchase","amount":4999,"externalId":"tiered-order-%d"}`, rfl["id"], i)
		st, conv := call("setup", "POST", "/v1/conversions", apiKey, body, "cli")
		if st != 201 {
			return fmt.Errorf("tiered conversion: %d %v", st, conv)
		}
		msg, err := recorded(conv)
		if err != nil {
			return err
		}
		tieredMsgs = append(tieredMsgs, msg)
	}

	// The pipeline. The stream router reads and writes nothing in DynamoDB
	// (it routes the stream record's images to SQS), so the store work is
	// the calculator's: each conversion.recorded message handled once, and
	// once more as a duplicate delivery (which finds its commission
	// recorded and writes nothing).
	// The first conversion of each tiered referrer starts its running
	// total for the month, which costs more: it is measured apart.
	calc := pipeline.NewCalculator(st, clock, pipeline.NoPartnerRules{})
	pipeSteps := []string{"calculator (percentage rule)", "calculator (tiered rule)", "calculator (tiered, first in period)",
		"calculator, duplicate delivery"}
	firsts := len(tieredCodes)
	runs := map[string]int{}
	for _, run := range []struct {
		step string
		msgs []pipeline.Message
	}{{pipeSteps[0], pctMsgs}, {pipeSteps[2], tieredMsgs[:firsts]}, {pipeSteps[1], tieredMsgs[firsts:]}, {pipeSteps[3], pctMsgs}} {
		setStep(run.step)
		runs[run.step] = len(run.msgs)
		for _, msg := range run.msgs {
			if err := calc.Handle(ctx, msg); err != nil {
				return fmt.Errorf("%s: %w", run.step, err)
			}
		}
	}
	setStep("check")
	for _, msg := range append(append([]pipeline.Message(nil), pctMsgs...), tieredMsgs...) {
		es, err := st.CommissionsOfSource(ctx, msg.OrgID, msg.EntityID)
		if err != nil {
			return err
		}
		if len(es) != 1 || es[0].Amount.Amount <= 0 {
			return fmt.Errorf("conversion %s: ledger entries %+v, want one commission", msg.EntityID, es)
		}
	}

	adminSteps, err := adminFlows(ctx, flowEnv{call: call, token: token, apiKey: apiKey, programID: programID, n: *n,
		calc: calc, recorded: recorded, mailbox: a.Mailbox, runs: runs, setStep: setStep,
		advance: func(d time.Duration) { offset.Add(int64(d)) }})
	if err != nil {
		return err
	}

	fmt.Printf("DynamoDB capacity per API operation (mean of %d runs on DynamoDB Local, %s)\n", *n, time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("Local: as DynamoDB Local reports it; AWS: each request priced as on-demand DynamoDB bills it (go doc ./infra/local/capacity)\n\n")
	total := map[string]units{}
	// table prints the mean per run of each step; perCall adds each store
	// call's mean units.
	table := func(steps []string, perCall bool) {
		fmt.Printf("%-36s %13s  %13s\n", "", "Local", "AWS")
		fmt.Printf("%-36s %6s %6s  %6s %6s  %s\n", "operation", "RCU", "WCU", "RCU", "WCU", "store calls")
		for _, s := range steps {
			count := float64(*n)
			if r, ok := runs[s]; ok {
				if r == 0 {
					continue // -n too small to have any
				}
				count = float64(r)
			}
			u := m.total[s].div(count)
			total[s] = u
			calls := append([]string(nil), m.calls[s]...)
			sort.Strings(calls)
			if perCall {
				for i, c := range calls {
					cu := m.perCall[s][c].div(count)
					calls[i] = fmt.Sprintf("%s %g/%g (AWS %g/%g)", c, cu.r, cu.w, cu.awsR, cu.awsW)
				}
			}
			fmt.Printf("%-36s %6.2f %6.2f  %6.2f %6.2f  %s\n", s, u.r, u.w, u.awsR, u.awsW, strings.Join(calls, ", "))
		}
	}
	table(steps, false)
	fmt.Printf("\nDynamoDB capacity of the commission pipeline per conversion (mean of %d, of %d and %d for the tiered rows; the stream router uses none)\n\n",
		*n, runs[pipeSteps[1]], runs[pipeSteps[2]])
	table(pipeSteps, true)
	fmt.Printf("\nDynamoDB capacity of admin and partner-portal operations (mean per request; lists: pages of %d)\n\n", *n)
	table(adminSteps, true)

	price := func(r, w float64) float64 { return r**rruPrice + w**wruPrice }
	line := func(what string, u units) {
		fmt.Printf("%s:\n  Local %.2f RCU, %.2f WCU → $%.2f per million; AWS %.2f RCU, %.2f WCU → $%.2f per million\n",
			what, u.r, u.w, price(u.r, u.w), u.awsR, u.awsW, price(u.awsR, u.awsW))
	}
	// The flow a conversion costs: the visitor's click, the referral and
	// the conversion (retries and repeat clicks are extra when they happen).
	var flow units
	for _, s := range []string{"click (new visitor)", "referral", "conversion"} {
		flow = flow.add(total[s])
	}
	fmt.Printf("\non-demand prices: $%.3f per million read units, $%.3f per million write units\n", *rruPrice, *wruPrice)
	line("the conversion request alone", total["conversion"])
	line("API flow per conversion (click + referral + conversion)", flow)
	for _, s := range pipeSteps[:2] {
		line("API + pipeline per conversion, "+strings.TrimSuffix(strings.TrimPrefix(s, "calculator ("), ")")+
			" (click + referral + conversion + calculator)", flow.add(total[s]))
	}
	line("each duplicate delivery of a message", total[pipeSteps[3]])
	return nil
}
