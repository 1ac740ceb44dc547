package main

// The CDK app's tests, all in this one package: they share one jsii
// runtime (a node child process) and one synthesis of the stack. No
// t.Parallel: the jsii runtime is not safe for concurrent use. A failed
// assertion of the assertions package panics; check turns it into t.Error.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// synthesized is the test stack, synthesized once in TestMain.
var synthesized struct {
	stack    awscdk.Stack
	template assertions.Template
	json     map[string]any
}

// placeholderCode is a CodeDir with a stand-in bootstrap per function: the
// tests read the template, not the binaries, so they do not cross-compile
// ten functions (make synth builds the real ones, make lambda alone too).
var placeholderCode string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	defer jsii.Close()
	dir, err := os.MkdirTemp("", "partnerloop-cdk-code-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, f := range Functions {
		if err := os.MkdirAll(filepath.Join(dir, f.LogicalID()), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(dir, f.LogicalID(), "bootstrap"), []byte("placeholder for "+f.Dir), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	placeholderCode = dir

	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
	synthesized.stack = NewPartnerLoop(app, testProps())
	synthesized.template = assertions.Template_FromStack(synthesized.stack, nil)
	synthesized.json = *synthesized.template.ToJSON()
	return m.Run()
}

// testProps are cdk.json's example settings, with an alarm e-mail.
func testProps() *PartnerLoopStackProps {
	return &PartnerLoopStackProps{
		Stage: "test", PublicBaseURL: "https://go.example.com", MailFrom: "PartnerLoop <noreply@example.com>",
		MailIdentity: "example.com", LogLevel: "info", AlarmEmail: "ops@example.com", CodeDir: placeholderCode,
		SecretsKey: "c2VjcmV0cy1rZXktZm9yLXRoZS1jZGstdGVzdHMtMzI=",
	}
}

// check runs assertions that panic on failure (the assertions package's
// way) and reports the failure on t.
func check(t *testing.T, what string, assert func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: %v", what, p)
		}
	}()
	assert()
}

func cdkTemplate(t *testing.T) map[string]any {
	t.Helper()
	return synthesized.json
}

func obj(kv ...any) *map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return &m
}

// TestEveryFunctionFolderIsDeployed: each folder of functions/ is a
// Function entry, built by its Makefile target into the folder the
// stack's asset reads, and a provided.al2023 arm64 function in the stack.
func TestEveryFunctionFolderIsDeployed(t *testing.T) {
	entries, err := os.ReadDir("../../functions")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	byDir := map[string]Function{}
	for _, f := range Functions {
		byDir[f.Dir] = f
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		f, ok := byDir[e.Name()]
		if !ok {
			t.Errorf("functions/%s has no entry in Functions (infra/cdk/functions.go)", e.Name())
			continue
		}
		delete(byDir, e.Name())
		target := regexp.MustCompile(`(?m)^build-` + f.LogicalID() + `:.*\n\t.*\$\(call artifacts,` + f.LogicalID() + `\)/bootstrap \./functions/` + regexp.QuoteMeta(f.Dir) + `$`)
		if !target.Match(makefile) {
			t.Errorf("the Makefile has no build-%s target building ./functions/%s into $(call artifacts,%s)/bootstrap", f.LogicalID(), f.Dir, f.LogicalID())
		}
		check(t, f.LogicalID(), func() {
			synthesized.template.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(
				"Description", f.Description, "Runtime", "provided.al2023", "Architectures", []string{"arm64"},
				"Handler", "bootstrap", "MemorySize", f.memory(), "Timeout", f.timeout(),
			))
		})
	}
	for dir := range byDir {
		t.Errorf("Functions has %q, which is not a folder of functions/", dir)
	}
	check(t, "function count", func() {
		synthesized.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(len(Functions)))
	})
}

// TestEveryRouteIsDeployed: each route of each function is an HTTP API
// route, and $default goes to the web function.
func TestEveryRouteIsDeployed(t *testing.T) {
	n := 0
	for _, f := range Functions {
		for _, r := range f.Routes {
			n++
			check(t, r, func() {
				synthesized.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), obj("RouteKey", r))
			})
		}
	}
	check(t, "route count", func() {
		synthesized.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(n))
	})
	routes := synthesized.template.FindResources(jsii.String("AWS::ApiGatewayV2::Route"), obj("Properties", obj("RouteKey", "$default")))
	if len(*routes) != 1 {
		t.Fatalf("want one $default route, got %d", len(*routes))
	}
	for _, r := range *routes {
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), "WebFunctionIntegration") {
			t.Errorf("$default route is not on the web function: %s", b)
		}
	}
}

// TestTableAndPipeline: the table has its stream, GSIs, TTL and PITR; the
// router reads only the pipeline's record types with partial batch
// responses; the calculator's queue too; period close runs hourly.
func TestTableAndPipeline(t *testing.T) {
	tpl := synthesized.template
	check(t, "table", func() {
		tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), obj(
			"DeletionPolicy", "Retain",
			"Properties", obj(
				"BillingMode", "PAY_PER_REQUEST",
				"StreamSpecification", obj("StreamViewType", "NEW_AND_OLD_IMAGES"),
				"TimeToLiveSpecification", obj("AttributeName", "ttl", "Enabled", true),
				"PointInTimeRecoverySpecification", obj("PointInTimeRecoveryEnabled", true),
				"GlobalSecondaryIndexes", []any{
					obj("IndexName", "GSI1", "Projection", obj("ProjectionType", "ALL")),
					obj("IndexName", "GSI2", "Projection", obj("ProjectionType", "ALL")),
				},
			)))
	})
	check(t, "stream mapping", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj(
			"StartingPosition", "TRIM_HORIZON",
			"FunctionResponseTypes", []string{"ReportBatchItemFailures"},
			"BisectBatchOnFunctionError", true,
			"FilterCriteria", obj("Filters", []any{obj("Pattern", `{"dynamodb":{"NewImage":{"type":{"S":["conversion","commission","deal","referral","partner"]}}}}`)}),
			"DestinationConfig", obj("OnFailure", obj("Destination", assertions.Match_AnyValue())),
		))
	})
	check(t, "queue mapping", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj(
			"BatchSize", 10, "FunctionResponseTypes", []string{"ReportBatchItemFailures"},
			"ScalingConfig", obj("MaximumConcurrency", 10),
		))
	})
	check(t, "commission queue redrive", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj(
			"VisibilityTimeout", 60, "RedrivePolicy", obj("maxReceiveCount", 5, "deadLetterTargetArn", assertions.Match_AnyValue()),
		))
	})
	check(t, "hourly period close", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), obj(
			"ScheduleExpression", "rate(1 hour)", "Target", obj("RetryPolicy", obj("MaximumRetryAttempts", 3)),
		))
	})
}

// TestMailOnlyAsTheIdentity: only the functions that send mail may, and
// only as the configured identity.
func TestMailOnlyAsTheIdentity(t *testing.T) {
	senders := 0
	for _, f := range Functions {
		if f.SendsMail {
			senders++
		}
	}
	policies := synthesized.template.FindResources(jsii.String("AWS::IAM::Policy"), nil)
	found := 0
	for id, p := range *policies {
		b, _ := json.Marshal(p)
		if !strings.Contains(string(b), "ses:") {
			continue
		}
		found++
		if !strings.Contains(string(b), `":identity/example.com"`) || strings.Contains(string(b), `"ses:*"`) {
			t.Errorf("%s: SES permission beyond ses:SendEmail as identity/example.com: %s", id, b)
		}
	}
	if found != senders {
		t.Errorf("%d policies allow SES, want %d (the functions with SendsMail)", found, senders)
	}
}

// TestNoWildcardActions: no function may call a whole service, scan or
// administer the table.
func TestNoWildcardActions(t *testing.T) {
	forbidden := regexp.MustCompile(`"(\*|[a-z0-9]+:\*|dynamodb:Scan|dynamodb:(Create|Delete|Update)Table)"`)
	for id, p := range *synthesized.template.FindResources(jsii.String("AWS::IAM::Policy"), nil) {
		b, _ := json.Marshal(p)
		if m := forbidden.Find(b); m != nil {
			t.Errorf("%s allows %s", id, m)
		}
	}
}

// TestAlarms: errors and throttles of every function, every dead-letter
// queue's depth, the API's 5xx rate and p99 latency, the stream's
// iterator age; all sent to the alarm topic, which mails AlarmEmail.
func TestAlarms(t *testing.T) {
	tpl := synthesized.template
	want := 2*len(Functions) + len(deadLetterQueues()) + 2
	for _, f := range Functions {
		if f.Stream != nil {
			want++
		}
	}
	check(t, "alarm count", func() { tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(want)) })
	for _, metric := range []string{"Errors", "Throttles"} {
		check(t, metric, func() {
			tpl.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Alarm"), obj("Namespace", "AWS/Lambda", "MetricName", metric), jsii.Number(len(Functions)))
		})
	}
	check(t, "DLQ depth", func() {
		tpl.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Alarm"), obj("MetricName", "ApproximateNumberOfMessagesVisible"), jsii.Number(len(deadLetterQueues())))
	})
	check(t, "5xx", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("MetricName", "5xx", "Statistic", "Average", "Threshold", api5xxRate))
	})
	check(t, "p99", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("MetricName", "Latency", "ExtendedStatistic", "p99"))
	})
	check(t, "iterator age", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("MetricName", "IteratorAge", "Threshold", iteratorAgeMs))
	})
	check(t, "actions", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("AlarmActions", []any{obj("Ref", assertions.Match_StringLikeRegexp(jsii.String("^AlarmTopic")))}))
	})
	check(t, "e-mail", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj("Protocol", "email", "Endpoint", "ops@example.com"))
	})
	check(t, "log retention", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), obj("RetentionInDays", 30))
	})
	check(t, "dashboard", func() { tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1)) })
}

// TestNoAlarmEmailNoSubscription: without AlarmEmail the topic has no
// subscriber (alarms still reach the topic).
func TestNoAlarmEmailNoSubscription(t *testing.T) {
	p := testProps()
	p.AlarmEmail = ""
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	tpl := assertions.Template_FromStack(NewPartnerLoopStack(app, "NoEmail", p), nil)
	check(t, "no subscription", func() { tpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0)) })
	check(t, "topic", func() { tpl.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(1)) })
}

// TestNoNagErrors: cdk-nag's AwsSolutions rules find nothing that is not
// suppressed with a reason (nag.go).
func TestNoNagErrors(t *testing.T) {
	anns := assertions.Annotations_FromStack(synthesized.stack)
	for _, find := range []func(*string, any) *[]*cxapi.SynthesisMessage{anns.FindError, anns.FindWarning} {
		for _, m := range *find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			t.Errorf("%s: %v", *m.Id, m.Entry.Data)
		}
	}
	// The suppressions are in the template's metadata, each with a reason.
	b, _ := json.Marshal(synthesized.json)
	var suppressed int
	for _, m := range regexp.MustCompile(`"reason":"([^"]*)"`).FindAllStringSubmatch(string(b), -1) {
		suppressed++
		if len(m[1]) < 40 {
			t.Errorf("suppression without a real reason: %q", m[1])
		}
	}
	if suppressed == 0 {
		t.Error("no cdk-nag suppression metadata found: did the stack lose nag.go?")
	}
}

// TestCfnLint: cfn-lint finds no error in the synthesized template. W3005
// (a DependsOn already implied by a GetAtt) is CDK's own doing: each
// function depends on its role explicitly.
func TestCfnLint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "PartnerLoop.template.json")
	b, err := json.MarshalIndent(synthesized.json, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("cfn-lint", "--ignore-checks", "W3005", "--", path).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint (pip install cfn-lint) on the synthesized template: %v\n%s", err, out)
	}
}

// TestPropsAreValidated: the props refuse what template.yaml's parameter
// constraints refuse.
func TestPropsAreValidated(t *testing.T) {
	for name, mutate := range map[string]func(*PartnerLoopStackProps){
		"relative URL":   func(p *PartnerLoopStackProps) { p.PublicBaseURL = "go.example.com" },
		"log level":      func(p *PartnerLoopStackProps) { p.LogLevel = "verbose" },
		"identity":       func(p *PartnerLoopStackProps) { p.MailIdentity = "example.com/x" },
		"stage":          func(p *PartnerLoopStackProps) { p.Stage = "prod stage" },
		"alarm e-mail":   func(p *PartnerLoopStackProps) { p.AlarmEmail = "ops" },
		"no code folder": func(p *PartnerLoopStackProps) { p.CodeDir = t.TempDir() },
	} {
		p := testProps()
		mutate(p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := testProps().Validate(); err != nil {
		t.Errorf("test props refused: %v", err)
	}
}
