package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestParityWithSAMTemplate: template.yaml, expanded by the SAM translator
// cfn-lint ships (testdata/samexpand.py), and the CDK app describe the same
// system. Both are reduced to the same model — functions, routes, IAM
// actions per function, event source mappings, schedules, queues, the
// table, alarms, the dashboard's metrics, log retention — and any
// difference is listed by section, naming the side it is missing from.
func TestParityWithSAMTemplate(t *testing.T) {
	sam := describe(t, samTemplate(t), samParams(), false)
	cdk := describe(t, cdkTemplate(t), nil, true)
	if diffs := compareModels(sam, cdk); len(diffs) > 0 {
		t.Errorf("template.yaml and the CDK app (infra/cdk) differ; change the other side too:\n  %s",
			strings.Join(diffs, "\n  "))
	}
	// The model must have found the system, or an empty comparison passes.
	for _, sec := range []string{"functions", "routes", "IAM", "event sources", "schedules", "queues", "alarms", "table", "dashboard"} {
		if len(sam[sec]) == 0 {
			t.Errorf("parity: no %s found in template.yaml: the parity model misreads it", sec)
		}
	}
}

// samParams are template.yaml's parameter values matching testProps.
func samParams() map[string]string {
	p := testProps()
	return map[string]string{
		"PublicBaseUrl": p.PublicBaseURL, "MailFrom": p.MailFrom, "MailIdentity": p.MailIdentity,
		"LogLevel": p.LogLevel, "AlarmEmail": p.AlarmEmail, "SecretsKey": p.SecretsKey,
	}
}

// samTemplate is template.yaml as plain CloudFormation.
func samTemplate(t *testing.T) map[string]any {
	t.Helper()
	cmd := exec.Command(cfnLintPython(t), "testdata/samexpand.py", "../../template.yaml")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("expanding template.yaml with cfn-lint's SAM transform (python3 testdata/samexpand.py; pip install cfn-lint): %v\n%s", err, stderr.String())
	}
	var tpl map[string]any
	if err := json.Unmarshal(out, &tpl); err != nil {
		t.Fatalf("samexpand.py printed no JSON: %v", err)
	}
	return tpl
}

// cfnLintPython is a Python that can import cfn-lint: python3, or the
// interpreter of the cfn-lint command itself (pipx installs it in a
// virtualenv of its own).
func cfnLintPython(t *testing.T) string {
	t.Helper()
	const probe = "import cfnlint.template.transforms._sam"
	if exec.Command("python3", "-c", probe).Run() == nil {
		return "python3"
	}
	path, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not installed (pip install cfn-lint, or pipx install cfn-lint): %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if interp, ok := strings.CutPrefix(first, "#!"); ok {
		interp = strings.TrimSpace(interp)
		if exec.Command(interp, "-c", probe).Run() == nil {
			return interp
		}
	}
	t.Fatalf("no Python that imports cfn-lint: neither python3 nor the interpreter of %s (%q)", path, first)
	return ""
}

// model is a template reduced to what must match: section → key →
// description.
type model map[string]map[string]string

func compareModels(sam, cdk model) []string {
	var diffs []string
	sections := map[string]bool{}
	for s := range sam {
		sections[s] = true
	}
	for s := range cdk {
		sections[s] = true
	}
	for _, sec := range sortedKeys(sections) {
		keys := map[string]bool{}
		for k := range sam[sec] {
			keys[k] = true
		}
		for k := range cdk[sec] {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			a, inSAM := sam[sec][k]
			b, inCDK := cdk[sec][k]
			switch {
			case !inCDK:
				diffs = append(diffs, fmt.Sprintf("%s: %s: only in template.yaml (%s)", sec, k, a))
			case !inSAM:
				diffs = append(diffs, fmt.Sprintf("%s: %s: only in the CDK app (%s)", sec, k, b))
			case a != b:
				diffs = append(diffs, fmt.Sprintf("%s: %s differs:\n      template.yaml: %s\n      CDK app:       %s", sec, k, a, b))
			}
		}
	}
	return diffs
}

// cdkHash is the hash CDK appends to the logical ID of a construct's
// resource (TableCD117FA1); template.yaml's IDs are the bare names.
var cdkHash = regexp.MustCompile(`^([A-Za-z0-9]+?)[0-9A-F]{8}$`)

// reader renders a template's values as strings: references become
// ${LogicalId} / ${LogicalId.Attr} (CDK's hashes stripped), parameters
// their values, so the same reference reads the same in both templates.
type reader struct {
	res       map[string]map[string]any
	params    map[string]string
	stripHash bool
}

func (r *reader) id(logical string) string {
	if r.stripHash {
		if m := cdkHash.FindStringSubmatch(logical); m != nil {
			return m[1]
		}
	}
	return logical
}

var subVar = regexp.MustCompile(`\$\{([A-Za-z0-9:._-]+)\}`)

func (r *reader) sub(s string, vars map[string]any) string {
	return subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := vars[name]; ok {
			return r.str(v)
		}
		if v, ok := r.params[name]; ok {
			return v
		}
		if strings.HasPrefix(name, "AWS::") {
			return m
		}
		logical, attr, _ := strings.Cut(name, ".")
		if attr != "" {
			return "${" + r.id(logical) + "." + attr + "}"
		}
		return "${" + r.id(logical) + "}"
	})
}

// str renders v: a string as is, an intrinsic function as the string it
// stands for, anything else as canonical JSON of its rendered parts.
func (r *reader) str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64, bool:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = r.str(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				switch fn {
				case "Ref":
					name, _ := arg.(string)
					if p, ok := r.params[name]; ok {
						return p
					}
					if strings.HasPrefix(name, "AWS::") {
						return "${" + name + "}"
					}
					return "${" + r.id(name) + "}"
				case "Fn::GetAtt":
					var logical, attr string
					switch a := arg.(type) {
					case []any:
						logical, attr = r.str(a[0]), r.str(a[1])
					case string:
						logical, attr, _ = strings.Cut(a, ".")
					}
					return "${" + r.id(logical) + "." + attr + "}"
				case "Fn::Sub":
					switch a := arg.(type) {
					case string:
						return r.sub(a, nil)
					case []any:
						vars, _ := a[1].(map[string]any)
						return r.sub(r.str(a[0]), vars)
					}
				case "Fn::Join":
					a, _ := arg.([]any)
					parts, _ := a[1].([]any)
					out := make([]string, len(parts))
					for i, p := range parts {
						out[i] = r.str(p)
					}
					return strings.Join(out, r.str(a[0]))
				}
			}
		}
		b, _ := json.Marshal(r.render(x))
		return string(b)
	}
	return fmt.Sprint(v)
}

// render replaces every intrinsic function inside v by its string.
func (r *reader) render(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.str(x)
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = r.render(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.render(e)
		}
		return out
	}
	return v
}

// canon is v rendered, as compact JSON with sorted keys.
func (r *reader) canon(v any) string {
	b, _ := json.Marshal(r.render(v))
	return string(b)
}

// refs are the logical IDs v refers to (Ref, GetAtt, ${...} in Sub), as
// written in the template.
func refs(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				switch k {
				case "Ref":
					if s, ok := e.(string); ok {
						out = append(out, s)
						continue
					}
				case "Fn::GetAtt":
					switch a := e.(type) {
					case []any:
						if s, ok := a[0].(string); ok {
							out = append(out, s)
						}
						continue
					case string:
						l, _, _ := strings.Cut(a, ".")
						out = append(out, l)
						continue
					}
				case "Fn::Sub":
					s, _ := e.(string)
					if a, ok := e.([]any); ok {
						s, _ = a[0].(string)
					}
					for _, m := range subVar.FindAllStringSubmatch(s, -1) {
						l, _, _ := strings.Cut(m[1], ".")
						out = append(out, l)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	if p == nil {
		p = map[string]any{}
	}
	return p
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// n formats a number as the template writes it (1209600, 0.05).
func n(v any, def float64) string {
	return strconv.FormatFloat(num(v, def), 'f', -1, 64)
}

func num(v any, def float64) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	if s, ok := v.(string); ok {
		var f float64
		if _, err := fmt.Sscan(s, &f); err == nil {
			return f
		}
	}
	return def
}

// describe reduces a template to the model. params are the template's
// parameter values; stripHash is set for the CDK app's template.
func describe(t *testing.T, tpl map[string]any, params map[string]string, stripHash bool) model {
	t.Helper()
	r := &reader{res: map[string]map[string]any{}, params: params, stripHash: stripHash}
	resources, _ := tpl["Resources"].(map[string]any)
	for id, v := range resources {
		r.res[id], _ = v.(map[string]any)
	}
	m := model{}
	add := func(sec, key, desc string) {
		if m[sec] == nil {
			m[sec] = map[string]string{}
		}
		if old, dup := m[sec][key]; dup && old != desc {
			desc = old + "; " + desc
		}
		m[sec][key] = desc
	}
	byType := func(typ string) []string {
		var ids []string
		for id, res := range r.res {
			if res["Type"] == typ {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		return ids
	}
	retention := func(logGroup any) string {
		for _, l := range refs(logGroup) {
			if res, ok := r.res[l]; ok && res["Type"] == "AWS::Logs::LogGroup" {
				return fmt.Sprintf("%s (%v days)", r.id(l), n(props(res)["RetentionInDays"], 0))
			}
		}
		return "default log group, kept forever"
	}

	// Functions, and the IAM of each function's role.
	for _, id := range byType("AWS::Lambda::Function") {
		p := props(r.res[id])
		var env []string
		vars, _ := p["Environment"].(map[string]any)
		envVars, _ := vars["Variables"].(map[string]any)
		for k, v := range envVars {
			env = append(env, k+"="+r.str(v))
		}
		sort.Strings(env)
		arch := "x86_64"
		if a := list(p["Architectures"]); len(a) > 0 {
			arch = r.str(a[0])
		}
		logs, _ := p["LoggingConfig"].(map[string]any)
		add("functions", r.id(id), fmt.Sprintf("runtime %s, %s, handler %s, %v MB, %v s, logs %s, environment %s",
			r.str(p["Runtime"]), arch, r.str(p["Handler"]), n(p["MemorySize"], 128), n(p["Timeout"], 3),
			retention(logs["LogGroup"]), strings.Join(env, " ")))

		for _, role := range refs(p["Role"]) {
			rp := props(r.res[role])
			var docs []any
			for _, pol := range list(rp["Policies"]) {
				pm, _ := pol.(map[string]any)
				docs = append(docs, pm["PolicyDocument"])
			}
			for _, pid := range byType("AWS::IAM::Policy") {
				pp := props(r.res[pid])
				if slices.Contains(refs(pp["Roles"]), role) {
					docs = append(docs, pp["PolicyDocument"])
				}
			}
			for _, arn := range list(rp["ManagedPolicyArns"]) {
				s := r.str(arn)
				add("IAM", r.id(id)+": managed policy "+s[strings.LastIndex(s, ":policy/")+len(":policy/"):], "attached")
			}
			perAction := map[string][]string{}
			for _, doc := range docs {
				dm, _ := doc.(map[string]any)
				for _, st := range list(dm["Statement"]) {
					sm, _ := st.(map[string]any)
					for _, a := range list(sm["Action"]) {
						k := r.id(id) + ": " + r.str(sm["Effect"]) + " " + r.str(a)
						for _, res := range list(sm["Resource"]) {
							perAction[k] = append(perAction[k], r.str(res))
						}
					}
				}
			}
			for k, res := range perAction {
				sort.Strings(res)
				add("IAM", k, "on "+strings.Join(slices.Compact(res), ", "))
			}
		}
	}

	// Routes: SAM's OpenAPI body, or CDK's route and integration resources.
	fnOf := func(v any) string {
		for _, l := range refs(v) {
			if res, ok := r.res[l]; ok && res["Type"] == "AWS::Lambda::Function" {
				return r.id(l)
			}
		}
		return "(no function: " + r.str(v) + ")"
	}
	for _, id := range byType("AWS::ApiGatewayV2::Api") {
		body, _ := props(r.res[id])["Body"].(map[string]any)
		paths, _ := body["paths"].(map[string]any)
		for path, item := range paths {
			ops, _ := item.(map[string]any)
			for method, op := range ops {
				om, _ := op.(map[string]any)
				integ, _ := om["x-amazon-apigateway-integration"].(map[string]any)
				if integ == nil {
					continue
				}
				key := strings.ToUpper(method) + " " + path
				if method == "x-amazon-apigateway-any-method" {
					key = "ANY " + path
				}
				if def, _ := om["isDefaultRoute"].(bool); def || path == "/$default" {
					key = "$default"
				}
				add("routes", key, fmt.Sprintf("%s (payload %s)", fnOf(integ["uri"]), r.str(integ["payloadFormatVersion"])))
			}
		}
	}
	for _, id := range byType("AWS::ApiGatewayV2::Route") {
		p := props(r.res[id])
		desc := "(no integration)"
		for _, integ := range refs(p["Target"]) {
			ip := props(r.res[integ])
			desc = fmt.Sprintf("%s (payload %s)", fnOf(ip["IntegrationUri"]), r.str(ip["PayloadFormatVersion"]))
		}
		add("routes", r.str(p["RouteKey"]), desc)
	}
	for _, id := range byType("AWS::ApiGatewayV2::Stage") {
		p := props(r.res[id])
		als, _ := p["AccessLogSettings"].(map[string]any)
		add("API stage", r.str(p["StageName"]), fmt.Sprintf("auto-deploy %v, access log %s, format %s",
			p["AutoDeploy"], retention(als["DestinationArn"]), r.str(als["Format"])))
	}

	// Event source mappings and schedules.
	for _, id := range byType("AWS::Lambda::EventSourceMapping") {
		p := map[string]any{}
		for k, v := range props(r.res[id]) {
			p[k] = v
		}
		key := fnOf(p["FunctionName"]) + " ← " + r.str(p["EventSourceArn"])
		delete(p, "FunctionName")
		delete(p, "EventSourceArn")
		delete(p, "Tags")
		if fc, ok := p["FilterCriteria"].(map[string]any); ok {
			var patterns []any
			for _, f := range list(fc["Filters"]) {
				fm, _ := f.(map[string]any)
				var pat any
				if err := json.Unmarshal([]byte(r.str(fm["Pattern"])), &pat); err != nil {
					t.Errorf("%s: filter pattern is not JSON: %v", id, err)
				}
				patterns = append(patterns, pat)
			}
			p["FilterCriteria"] = patterns
		}
		add("event sources", key, r.canon(p))
	}
	for _, id := range byType("AWS::Scheduler::Schedule") {
		p := props(r.res[id])
		target, _ := p["Target"].(map[string]any)
		retry, _ := target["RetryPolicy"].(map[string]any)
		var input any
		if err := json.Unmarshal([]byte(r.str(target["Input"])), &input); err != nil {
			input = r.str(target["Input"])
		}
		in, _ := json.Marshal(input)
		window, _ := p["FlexibleTimeWindow"].(map[string]any)
		add("schedules", fnOf(target["Arn"])+" "+r.str(p["ScheduleExpression"]),
			fmt.Sprintf("EventBridge Scheduler, window %s, %v retries, input %s", r.str(window["Mode"]), retry["MaximumRetryAttempts"], in))
	}
	for _, id := range byType("AWS::Events::Rule") {
		p := props(r.res[id])
		for _, tg := range list(p["Targets"]) {
			tm, _ := tg.(map[string]any)
			add("schedules", fnOf(tm["Arn"])+" "+r.str(p["ScheduleExpression"]), "EventBridge rule, input "+r.str(tm["Input"]))
		}
	}

	// Queues (with whether a policy refuses non-TLS requests), the table,
	// the alarm topic's subscriptions.
	tlsOnly := map[string]bool{}
	for _, id := range byType("AWS::SQS::QueuePolicy") {
		p := props(r.res[id])
		doc, _ := p["PolicyDocument"].(map[string]any)
		for _, st := range list(doc["Statement"]) {
			sm, _ := st.(map[string]any)
			if sm["Effect"] == "Deny" && strings.Contains(r.canon(sm["Condition"]), `"aws:SecureTransport":"false"`) {
				for _, q := range refs(sm["Resource"]) {
					if slices.Contains(refs(p["Queues"]), q) {
						tlsOnly[q] = true
					}
				}
			}
		}
	}
	for _, id := range byType("AWS::SQS::Queue") {
		p := props(r.res[id])
		redrive := "none"
		if rp, ok := p["RedrivePolicy"].(map[string]any); ok {
			redrive = fmt.Sprintf("%s after %v receives", r.str(rp["deadLetterTargetArn"]), n(rp["maxReceiveCount"], 0))
		}
		add("queues", r.id(id), fmt.Sprintf("retention %v s, visibility %v s, SQS-managed SSE %v, TLS only %v, dead letters to %s",
			n(p["MessageRetentionPeriod"], 345600), n(p["VisibilityTimeout"], 30), p["SqsManagedSseEnabled"], tlsOnly[id], redrive))
	}
	for _, id := range byType("AWS::DynamoDB::Table") {
		p := props(r.res[id])
		keys := func(ks any) string {
			var out []string
			for _, k := range list(ks) {
				km, _ := k.(map[string]any)
				out = append(out, r.str(km["AttributeName"])+" "+r.str(km["KeyType"]))
			}
			return strings.Join(out, ", ")
		}
		var attrs, gsis []string
		for _, a := range list(p["AttributeDefinitions"]) {
			am, _ := a.(map[string]any)
			attrs = append(attrs, r.str(am["AttributeName"])+":"+r.str(am["AttributeType"]))
		}
		for _, g := range list(p["GlobalSecondaryIndexes"]) {
			gm, _ := g.(map[string]any)
			proj, _ := gm["Projection"].(map[string]any)
			gsis = append(gsis, fmt.Sprintf("%s(%s; %s)", r.str(gm["IndexName"]), keys(gm["KeySchema"]), r.str(proj["ProjectionType"])))
		}
		sort.Strings(attrs)
		sort.Strings(gsis)
		add("table", r.id(id), fmt.Sprintf("keys %s; attributes %s; indexes %s; billing %s; stream %s; TTL %s; PITR %s; SSE %s; deletion %s",
			keys(p["KeySchema"]), strings.Join(attrs, " "), strings.Join(gsis, " "), r.str(p["BillingMode"]),
			r.canon(p["StreamSpecification"]), r.canon(p["TimeToLiveSpecification"]),
			r.canon(p["PointInTimeRecoverySpecification"]), r.canon(p["SSESpecification"]), r.str(r.res[id]["DeletionPolicy"])))
	}
	for _, id := range byType("AWS::SNS::Subscription") {
		p := props(r.res[id])
		add("alarm topic", r.str(p["TopicArn"])+" "+r.str(p["Protocol"]), r.str(p["Endpoint"]))
	}
	for _, id := range byType("AWS::SNS::Topic") {
		tls := false
		for _, pid := range byType("AWS::SNS::TopicPolicy") {
			pp := props(r.res[pid])
			if slices.Contains(refs(pp["Topics"]), id) && strings.Contains(r.canon(pp["PolicyDocument"]), `"aws:SecureTransport":"false"`) {
				tls = true
			}
		}
		add("alarm topic", r.id(id), fmt.Sprintf("TLS only %v", tls))
	}

	// Alarms, and the metrics the dashboard shows.
	for _, id := range byType("AWS::CloudWatch::Alarm") {
		p := props(r.res[id])
		var dims []string
		for _, d := range list(p["Dimensions"]) {
			dm, _ := d.(map[string]any)
			dims = append(dims, r.str(dm["Name"])+"="+r.str(dm["Value"]))
		}
		sort.Strings(dims)
		stat := r.str(p["Statistic"]) + r.str(p["ExtendedStatistic"])
		var actions []string
		for _, a := range list(p["AlarmActions"]) {
			actions = append(actions, r.str(a))
		}
		add("alarms", r.id(id), fmt.Sprintf("%s %s {%s} %s over %v s, %v period(s) %s %v, missing data %s, actions %s",
			r.str(p["Namespace"]), r.str(p["MetricName"]), strings.Join(dims, " "), stat, n(p["Period"], 0),
			n(p["EvaluationPeriods"], 0), r.str(p["ComparisonOperator"]), n(p["Threshold"], 0),
			r.str(p["TreatMissingData"]), strings.Join(actions, " ")))
	}
	for _, id := range byType("AWS::CloudWatch::Dashboard") {
		var body struct {
			Widgets []struct {
				Properties struct {
					Metrics []any `json:"metrics"`
				} `json:"properties"`
			} `json:"widgets"`
		}
		if err := json.Unmarshal([]byte(r.str(props(r.res[id])["DashboardBody"])), &body); err != nil {
			t.Errorf("%s: the dashboard body is not JSON: %v", id, err)
		}
		for _, w := range body.Widgets {
			for _, metric := range w.Properties.Metrics {
				var names []string
				for _, part := range list(metric) {
					switch x := part.(type) {
					case string:
						names = append(names, x)
					case map[string]any:
						if e, ok := x["expression"].(string); ok {
							names = append(names, e)
						}
					}
				}
				add("dashboard", strings.Join(names, " "), "shown")
			}
		}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
