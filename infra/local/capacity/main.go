// Command capacity measures the DynamoDB capacity units each tracking
// operation consumes, by running the real HTTP handlers on the DynamoDB
// adapter against DynamoDB Local, and prints the cost per million
// conversions at on-demand prices.
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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/partnerloop/partnerloop/internal/app"
	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/emulators"
	"github.com/partnerloop/partnerloop/internal/store/dynamo"
)

// meter adds up capacity per step of the flow.
type meter struct {
	mu          sync.Mutex
	step        string
	read, write map[string]float64
	calls       map[string][]string
}

func (m *meter) record(op string, c []types.ConsumedCapacity) {
	r, w := dynamo.Units(c)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.read[m.step] += r
	m.write[m.step] += w
	if !contains(m.calls[m.step], op) {
		m.calls[m.step] = append(m.calls[m.step], op)
	}
}

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
	client := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ddb.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	if err := dynamo.CreateTable(ctx, client, "capacity"); err != nil {
		return err
	}
	m := &meter{read: map[string]float64{}, write: map[string]float64{}, calls: map[string][]string{}, step: "setup"}
	st := dynamo.New(client, "capacity", dynamo.WithCapacityRecorder(m.record))
	cfg, err := app.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		return err
	}
	a := app.New(cfg, st, domain.SystemClock, domain.NewULIDs(domain.SystemClock), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, _, _, err := a.Identity.Bootstrap(ctx, "Capacity", "admin@example.com", "capacity-password"); err != nil {
		return err
	}
	h := a.API.Handler()
	call := func(step, method, path, token, body, ua string) (int, map[string]any) {
		m.mu.Lock()
		m.step = step
		m.mu.Unlock()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = "203.0.113.5:1234"
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

	steps := []string{"enrol referrer", "click (new visitor)", "click (repeat, not counted)", "referral", "conversion", "conversion retry (same externalId)"}
	for i := 0; i < *n; i++ {
		st, ref := call(steps[0], "POST", "/v1/programs/"+programID+"/referrers", apiKey, fmt.Sprintf(`{"email":"r%d@example.com"}`, i), "cli")
		code, _ := ref["code"].(string)
		if st != 201 {
			return fmt.Errorf("enrol: %d %v", st, ref)
		}
		ua := fmt.Sprintf("Mozilla/5.0 (visitor %d)", i)
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
		if st, c := call(steps[4], "POST", "/v1/conversions", apiKey, body, "cli"); st != 201 {
			return fmt.Errorf("conversion: %d %v", st, c)
		}
		if st, c := call(steps[5], "POST", "/v1/conversions", apiKey, body, "cli"); st != 200 {
			return fmt.Errorf("conversion retry: %d %v", st, c)
		}
	}

	fmt.Printf("DynamoDB capacity per API operation (mean of %d runs on DynamoDB Local, %s)\n\n", *n, time.Now().UTC().Format("2006-01-02"))
	fmt.Printf("%-36s %8s %8s  %s\n", "operation", "RCU", "WCU", "store calls")
	total := map[string][2]float64{}
	for _, s := range steps {
		r, w := m.read[s]/float64(*n), m.write[s]/float64(*n)
		total[s] = [2]float64{r, w}
		calls := append([]string(nil), m.calls[s]...)
		sort.Strings(calls)
		fmt.Printf("%-36s %8.2f %8.2f  %s\n", s, r, w, strings.Join(calls, ", "))
	}
	// The flow a conversion costs: the visitor's click, the referral and
	// the conversion (retries and repeat clicks are extra when they happen).
	var fr, fw float64
	for _, s := range []string{"click (new visitor)", "referral", "conversion"} {
		fr += total[s][0]
		fw += total[s][1]
	}
	perMillion := fr**rruPrice + fw**wruPrice
	fmt.Printf("\nflow per conversion (click + referral + conversion): %.2f RCU, %.2f WCU\n", fr, fw)
	fmt.Printf("one million conversions: %.2f M read units × $%.3f + %.2f M write units × $%.3f = $%.2f (on-demand)\n",
		fr, *rruPrice, fw, *wruPrice, perMillion)
	c := total["conversion"]
	fmt.Printf("the conversion request alone: %.2f RCU, %.2f WCU → $%.2f per million\n", c[0], c[1], c[0]**rruPrice+c[1]**wruPrice)
	return nil
}
