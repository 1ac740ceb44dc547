package app

import (
	"context"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/web"
)

// HTTPFunction is the Lambda handler of one route group: API Gateway HTTP
// API (payload 2.0) events in, the same http.Handler as the local server in
// the middle.
type HTTPFunction func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// NewHTTPFunction adapts the handler of group to Lambda: the API's routes
// of the group, or for web.Group the web UI.
func (a *App) NewHTTPFunction(group string) HTTPFunction {
	if group == web.Group {
		return httpadapter.NewV2(joinSplitHeaders(a.Web)).ProxyWithContext
	}
	return httpadapter.NewV2(joinSplitHeaders(a.API.Handler(group))).ProxyWithContext
}

// joinSplitHeaders undoes what the adapter does to header values: it splits
// each value API Gateway sends at its commas into several values, which
// cuts values that are one string with commas in it (Stripe-Signature
// "t=…,v1=…") so that Header.Get sees only the first part. Joined back,
// handlers read a header as the local server gives it to them. Cookies come
// in their own field of the event, one Cookie header each, and stay so.
func joinSplitHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, vs := range r.Header {
			if len(vs) > 1 && k != "Cookie" {
				r.Header[k] = []string{strings.Join(vs, ",")}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// StartHTTPFunction is the whole main of an HTTP Lambda function: read the
// configuration, open the store, serve the group. It exits with a clear
// message when the configuration is unusable.
func StartHTTPFunction(group string) {
	cfg, log := mustConfig(group)
	st, err := OpenStore(context.Background(), cfg, os.Getenv, os.Environ())
	if err != nil {
		fail(log, "store", err)
	}
	mailer, err := OpenMailer(context.Background(), cfg, domain.SystemClock, os.Getenv, os.Environ())
	if err != nil {
		fail(log, "mail", err)
	}
	a := New(cfg, st, domain.SystemClock, domain.NewULIDs(domain.SystemClock), log, WithMailer(mailer))
	lambda.Start(a.NewHTTPFunction(group))
}
