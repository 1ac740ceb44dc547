package emulators

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestEmulatorsStartAndStop starts each pinned emulator and checks it
// answers like the AWS service it stands in for. In CI a missing emulator
// fails the run; it is never skipped.
func TestEmulatorsStartAndStop(t *testing.T) {
	nm, err := NodeModules()
	if err != nil {
		t.Fatal(err)
	}
	ddb, err := StartDynamoDB(nm, DynamoDBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ddb.Stop()
	sqs, err := StartSQS(nm, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sqs.Stop()
	ses, err := StartSES(nm, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ses.Stop()

	post := func(url, target, body string) (int, string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := post(ddb.Endpoint, "DynamoDB_20120810.ListTables", `{}`); st != 200 || !strings.Contains(body, "TableNames") {
		t.Fatalf("DynamoDB Local ListTables: %d %s", st, body)
	}
	if st, body := post(sqs.Endpoint, "AmazonSQS.ListQueues", `{}`); st != 200 {
		t.Fatalf("local-aws-sqs ListQueues: %d %s", st, body)
	}
	resp, err := http.Get(ses.Endpoint + "/store")
	if err != nil {
		t.Fatal(err)
	}
	var store struct {
		Emails []any `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil || resp.StatusCode != 200 {
		t.Fatalf("aws-ses-v2-local /store: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()

	ddb.Stop()
	if _, err := http.Get(ddb.Endpoint); err == nil {
		t.Fatal("DynamoDB Local still answers after Stop")
	}
}

// TestMissingEmulatorSaysHowToFix: one message with the fix, no skip.
func TestMissingEmulatorSaysHowToFix(t *testing.T) {
	empty := t.TempDir()
	for name, start := range map[string]func() error{
		"dynamodb": func() error { _, err := StartDynamoDB(empty, DynamoDBOptions{}); return err },
		"sqs":      func() error { _, err := StartSQS(empty, nil); return err },
		"ses":      func() error { _, err := StartSES(empty, nil); return err },
	} {
		err := start()
		if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "make deps") {
			t.Errorf("%s with no packages: %v, want ErrMissing saying to run make deps", name, err)
		}
	}
}
