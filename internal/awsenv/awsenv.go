// Package awsenv builds the AWS SDK configuration from the environment and
// fails closed: an endpoint override (for local emulators) is honoured only
// together with explicit static credentials that are not real AWS keys, so
// a misconfiguration can never send a request to a real account with real
// credentials, nor local test traffic to AWS.
//
// It builds aws.Config itself from the environment variables (Lambda puts
// the role's credentials and the region there) instead of calling
// config.LoadDefaultConfig: that chain links STS, SSO, SSO-OIDC, sign-in and
// IMDS clients and their initialisation into every Lambda binary, which
// never use them. A process that needs a developer's profile (~/.aws)
// imports internal/awsenv/profile, which plugs the SDK's default chain back
// in.
package awsenv

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// DefaultChain, when set (by importing internal/awsenv/profile), loads the
// configuration for real AWS through the SDK's default chain (environment,
// shared profile, SSO, IMDS, ...) instead of from the environment alone.
var DefaultChain func(ctx context.Context, region string) (aws.Config, error)

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
// Without an endpoint override AWS_REGION must be set, and the credentials
// are AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (on
// Lambda: the function's role), or DefaultChain's when it is set. With
// AWS_ENDPOINT_URL or any AWS_ENDPOINT_URL_<SERVICE> set, AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY must be set explicitly to non-AWS values; only
// they are used, and the region defaults to us-east-1.
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
		if DefaultChain != nil {
			cfg, err := DefaultChain(ctx, s.Region)
			return cfg, s, err
		}
		key, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
		if key == "" || secret == "" {
			return aws.Config{}, s, fmt.Errorf("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them; " +
				"a process that uses a profile imports internal/awsenv/profile)")
		}
		return newConfig(s.Region, key, secret, getenv("AWS_SESSION_TOKEN"), nil), s, nil
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
	// Only the environment counts: no profile from ~/.aws can add an
	// endpoint or credentials behind our back.
	cfg := newConfig(s.Region, key, secret, "", serviceEndpoints(s.Endpoints))
	// A service without an override of its own must not fall through to
	// AWS: its base endpoint is the global override, else a closed loopback
	// port where such a call fails at once. A service's own variable
	// (AWS_ENDPOINT_URL_DYNAMODB, ...) outranks it: service clients ask
	// cfg.ConfigSources (serviceEndpoints) for it.
	base := s.Endpoints["AWS_ENDPOINT_URL"]
	if base == "" {
		base = Unconfigured
	}
	cfg.BaseEndpoint = aws.String(base)
	return cfg, s, nil
}

// newConfig is the configuration of static (environment) credentials in
// region. HTTP client and retryer are left to the service clients, whose
// defaults are the ones config.LoadDefaultConfig would choose.
func newConfig(region, key, secret, token string, endpoints serviceEndpoints) aws.Config {
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, token)),
	}
	if endpoints != nil {
		cfg.ConfigSources = []any{endpoints}
	}
	return cfg
}

// serviceEndpoints answers the service clients' question for their own
// endpoint variable, as config's environment source does:
// AWS_ENDPOINT_URL_ + the SDK ID in upper case with spaces as underscores
// (DynamoDB Streams: AWS_ENDPOINT_URL_DYNAMODB_STREAMS).
type serviceEndpoints map[string]string

// GetServiceBaseEndpoint implements the SDK's (internal)
// configsources.ServiceBaseEndpointProvider.
func (e serviceEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v, ok := e["AWS_ENDPOINT_URL_"+strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_")]
	return v, ok, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
