// Package awsenv builds the AWS SDK configuration from the environment and
// fails closed: an endpoint override (for local emulators) is honoured only
// together with explicit static credentials that are not real AWS keys, so
// a misconfiguration can never send a request to a real account with real
// credentials, nor local test traffic to AWS.
package awsenv

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// realKeyRe matches the access key IDs AWS issues (long-term AKIA…,
// temporary ASIA…). Local credentials must not look like these.
var realKeyRe = regexp.MustCompile(`^(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}$`)

// Unconfigured is where, in local mode, a service with no endpoint override
// is sent: a loopback port nothing listens on, so the mistake fails fast
// and locally instead of reaching AWS.
const Unconfigured = "http://127.0.0.1:1"

// Settings is what Load decided, for logs and banners.
type Settings struct {
	Region    string
	Endpoints map[string]string // variable name → URL, empty on real AWS
}

// Local reports whether the configuration targets local emulators.
func (s Settings) Local() bool { return len(s.Endpoints) > 0 }

// Load returns the SDK configuration for getenv's environment.
//
// Without an endpoint override it is the SDK's default chain (on Lambda:
// the function's role) and AWS_REGION must be set. With AWS_ENDPOINT_URL or
// any AWS_ENDPOINT_URL_<SERVICE> set, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY must be set explicitly to non-AWS values; only they
// are used, and the region defaults to us-east-1.
func Load(ctx context.Context, getenv func(string) string, environ []string) (aws.Config, Settings, error) {
	s := Settings{Region: firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")), Endpoints: map[string]string{}}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if (name == "AWS_ENDPOINT_URL" || strings.HasPrefix(name, "AWS_ENDPOINT_URL_")) && strings.TrimSpace(value) != "" {
			u, err := url.Parse(value)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return aws.Config{}, s, fmt.Errorf("%s=%q is not an http(s) URL", name, value)
			}
			s.Endpoints[name] = value
		}
	}
	if !s.Local() {
		if s.Region == "" {
			return aws.Config{}, s, fmt.Errorf("AWS_REGION is not set (Lambda sets it; set it when running elsewhere)")
		}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(s.Region))
		return cfg, s, err
	}
	key, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	names := make([]string, 0, len(s.Endpoints))
	for n := range s.Endpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	switch {
	case key == "" || secret == "":
		return aws.Config{}, s, fmt.Errorf("%s points the AWS SDK at a local emulator, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: "+
			"set both to local dummy values (e.g. local/local) so no real credentials are ever used with an override", strings.Join(names, ", "))
	case realKeyRe.MatchString(key):
		return aws.Config{}, s, fmt.Errorf("%s is set together with what looks like a real AWS access key (%s…): "+
			"emulators take dummy credentials; refusing to start so real credentials never go to an override", strings.Join(names, ", "), key[:4])
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(s.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, "")),
		// Only the environment counts: no profile from ~/.aws can add an
		// endpoint or credentials behind our back.
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, s, err
	}
	// A service without an override of its own must not fall through to
	// AWS: its base endpoint is the global override, else a closed loopback
	// port where such a call fails at once. This is set on the loaded
	// config, not as a load option, because a load option would outrank
	// the service-specific variables (AWS_ENDPOINT_URL_DYNAMODB, ...).
	base := s.Endpoints["AWS_ENDPOINT_URL"]
	if base == "" {
		base = Unconfigured
	}
	cfg.BaseEndpoint = aws.String(base)
	return cfg, s, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
