// Command cdk is PartnerLoop's AWS CDK app: the same system as
// template.yaml (the parity test holds them together), configured by the
// context in cdk.json (or -c key=value).
//
//	make synth                       # builds the functions, writes cdk.out/
//	npx cdk deploy -c stage=prod -c publicBaseUrl=https://go.example.com
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func main() {
	os.Exit(run())
}

// run synthesizes the app and reports cdk-nag errors (the CDK CLI refuses
// to deploy them too); it returns the exit status.
func run() int {
	defer jsii.Close()
	appProps, err := standaloneContext()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdk:", err)
		return 2
	}
	app := awscdk.NewApp(appProps)
	props, err := propsFromContext(app)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdk:", err)
		return 2
	}
	NewPartnerLoop(app, props)
	asm := app.Synth(nil)
	failed := false
	for _, st := range *asm.Stacks() {
		for _, m := range *st.Messages() {
			if m.Level == cxapi.SynthesisMessageLevel_ERROR {
				failed = true
				fmt.Fprintf(os.Stderr, "error: %s: %v\n", *m.Id, m.Entry.Data)
			}
		}
	}
	if failed {
		return 1
	}
	return 0
}

// NewPartnerLoop adds the stage's stack to app, checked by cdk-nag's
// AwsSolutions rules (findings are errors in the cloud assembly; the
// accepted ones are suppressed with their reason in nag.go).
func NewPartnerLoop(app awscdk.App, props *PartnerLoopStackProps) awscdk.Stack {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return NewPartnerLoopStack(app, "PartnerLoop-"+props.Stage, props)
}

// standaloneContext gives `go run .` (make synth, without the CDK CLI)
// the context of cdk.json, as the CLI would; under the CLI (which sets
// CDK_CONTEXT_JSON) it adds nothing.
func standaloneContext() (*awscdk.AppProps, error) {
	if os.Getenv("CDK_CONTEXT_JSON") != "" {
		return nil, nil
	}
	b, err := os.ReadFile("cdk.json")
	if err != nil {
		return nil, fmt.Errorf("run from infra/cdk (cdk.json): %w", err)
	}
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	return &awscdk.AppProps{Context: &cfg.Context}, nil
}

// propsFromContext reads the stage's settings from the CDK context
// (cdk.json's "context", overridden by -c key=value).
func propsFromContext(app awscdk.App) (*PartnerLoopStackProps, error) {
	get := func(key string) string {
		if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok {
			return v
		}
		return ""
	}
	codeDir := get("codeDir")
	if codeDir == "" {
		codeDir = filepath.Join("..", "..", ".aws-sam", "make")
	}
	abs, err := filepath.Abs(codeDir)
	if err != nil {
		return nil, err
	}
	p := &PartnerLoopStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("PartnerLoop referral and partner platform (HTTP API, Lambda, DynamoDB)."),
		},
		Stage:         get("stage"),
		PublicBaseURL: get("publicBaseUrl"),
		MailFrom:      get("mailFrom"),
		MailIdentity:  get("mailIdentity"),
		LogLevel:      get("logLevel"),
		AlarmEmail:    get("alarmEmail"),
		SecretsKey:    get("secretsKey"),
		CodeDir:       abs,
	}
	return p, p.Validate()
}
