package awsenv

import (
	"context"
	"strings"
	"testing"
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
		{"real AWS with a region", []string{"AWS_REGION=eu-west-1"}, "", false, "eu-west-1"},
		{"real AWS without a region", nil, "AWS_REGION is not set", false, ""},
		{"override without credentials", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:8000"}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set", true, ""},
		{"service override without credentials", []string{"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000", "AWS_ACCESS_KEY_ID=local"}, "are not set", true, ""},
		{"override with a real-looking key", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:8000", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=x"}, "looks like a real AWS access key", true, ""},
		{"override with a temporary key", []string{"AWS_ENDPOINT_URL_SQS=http://localhost:9324", "AWS_ACCESS_KEY_ID=ASIAXXXXXXXXXXXXXXXX", "AWS_SECRET_ACCESS_KEY=x"}, "looks like a real AWS access key", true, ""},
		{"override that is not a URL", []string{"AWS_ENDPOINT_URL=127.0.0.1:8000", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local"}, "not an http(s) URL", true, ""},
		{"override with local credentials", []string{"AWS_ENDPOINT_URL=http://127.0.0.1:8000", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local"}, "", true, "us-east-1"},
		{"empty override is no override", []string{"AWS_ENDPOINT_URL=", "AWS_REGION=us-west-2"}, "", false, "us-west-2"},
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
			if c.local {
				creds, err := cfg.Credentials.Retrieve(context.Background())
				if err != nil || creds.AccessKeyID != "local" {
					t.Fatalf("credentials %v %v, want the explicit local ones", creds.AccessKeyID, err)
				}
				if cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "http://127.0.0.1:8000" {
					t.Fatalf("base endpoint %v", cfg.BaseEndpoint)
				}
			}
		})
	}
}
