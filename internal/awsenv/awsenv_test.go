package awsenv

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func env(kv ...string) (func(string) string, []string) {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }, kv
}

func TestLoad(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		wantErr string
		local   bool
		region  string
	}{
		{"real AWS with a region", []string{"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=ASIAXXXXXXXXXXXXXXXX", "AWS_SECRET_ACCESS_KEY=x", "AWS_SESSION_TOKEN=t"}, "", false, "eu-west-1"},
		{"real AWS without credentials in the environment", []string{"AWS_REGION=eu-west-1"}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set", false, ""},
		{"real AWS without a region", nil, "AWS_REGION is not set", false, ""},
		{"override without credentials", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:8000"}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set", true, ""},
		{"service override without credentials", []string{"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000", "AWS_ACCESS_KEY_ID=local"}, "are not set", true, ""},
		{"override with a real-looking key", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:8000", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=x"}, "looks like a real AWS access key", true, ""},
		{"override with a temporary key", []string{"AWS_ENDPOINT_URL_SQS=http://localhost:9324", "AWS_ACCESS_KEY_ID=ASIAXXXXXXXXXXXXXXXX", "AWS_SECRET_ACCESS_KEY=x"}, "looks like a real AWS access key", true, ""},
		{"override that is not a URL", []string{"AWS_ENDPOINT_URL=127.0.0.1:8000", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local"}, "not an http(s) URL", true, ""},
		{"override with local credentials", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:8000", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local"}, "", true, "us-east-1"},
		{"service override only", []string{"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local"}, "", true, "us-east-1"},
		{"empty override is no override", []string{"AWS_ENDPOINT_URL=", "AWS_REGION=us-west-2", "AWS_ACCESS_KEY_ID=k", "AWS_SECRET_ACCESS_KEY=s"}, "", false, "us-west-2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			getenv, environ := env(c.env...)
			cfg, s, err := Load(context.Background(), getenv, environ)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Local() != c.local || cfg.Region != c.region {
				t.Fatalf("local=%v region=%q, want %v %q", s.Local(), cfg.Region, c.local, c.region)
			}
			if !c.local {
				// On Lambda the role's credentials are the environment's.
				creds, err := cfg.Credentials.Retrieve(context.Background())
				if err != nil || creds.AccessKeyID != getenv("AWS_ACCESS_KEY_ID") || creds.SessionToken != getenv("AWS_SESSION_TOKEN") {
					t.Fatalf("credentials %+v %v, want the environment's", creds, err)
				}
				if cfg.BaseEndpoint != nil {
					t.Fatalf("base endpoint %v on real AWS", *cfg.BaseEndpoint)
				}
			}
			if c.local {
				creds, err := cfg.Credentials.Retrieve(context.Background())
				if err != nil || creds.AccessKeyID != "local" {
					t.Fatalf("credentials %v %v, want the explicit local ones", creds.AccessKeyID, err)
				}
				// Services without their own override go to the global
				// one, else to a closed local port — never to AWS.
				want := Unconfigured
				if getenv("AWS_ENDPOINT_URL") != "" {
					want = getenv("AWS_ENDPOINT_URL")
				}
				if cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != want {
					t.Fatalf("base endpoint %v, want %s", cfg.BaseEndpoint, want)
				}
				// What a client really calls: a service's own variable wins.
				for _, kv := range c.env {
					if k, v, _ := strings.Cut(kv, "="); k == "AWS_ENDPOINT_URL_DYNAMODB" {
						t.Setenv(k, v)
						if got := resolvedEndpoint(t, cfg); got != v {
							t.Fatalf("DynamoDB client calls %s, want %s", got, v)
						}
					}
				}
			}
		})
	}
}

// resolvedEndpoint returns the URL a DynamoDB client of cfg sends to.
func resolvedEndpoint(t *testing.T, cfg aws.Config) string {
	t.Helper()
	var got string
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.HTTPClient = smithyhttp.ClientDoFunc(func(r *http.Request) (*http.Response, error) {
			got = r.URL.Scheme + "://" + r.URL.Host
			return nil, errors.New("stop")
		})
		o.RetryMaxAttempts = 1
	})
	_, _ = client.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	return got
}

// TestLoadDefaultChain: with DefaultChain set (internal/awsenv/profile),
// real AWS is configured by it — a developer's profile — and endpoint
// overrides still never reach it.
func TestLoadDefaultChain(t *testing.T) {
	var called string
	DefaultChain = func(_ context.Context, region string) (aws.Config, error) {
		called = region
		return aws.Config{Region: region}, nil
	}
	t.Cleanup(func() { DefaultChain = nil })
	getenv, environ := env("AWS_REGION=eu-central-1")
	if cfg, _, err := Load(context.Background(), getenv, environ); err != nil || called != "eu-central-1" || cfg.Region != "eu-central-1" {
		t.Fatalf("Load = %v, %v; chain called for %q", cfg.Region, err, called)
	}
	called = ""
	getenv, environ = env("AWS_ENDPOINT_URL_SQS=http://127.0.0.1:9324", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
	if _, _, err := Load(context.Background(), getenv, environ); err != nil || called != "" {
		t.Fatalf("local override: err %v, chain called for %q", err, called)
	}
}
