package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/partnerloop/partnerloop/internal/domain"
	"github.com/partnerloop/partnerloop/internal/httpapi"
	"github.com/partnerloop/partnerloop/internal/mail"
)

// HTTPFunction is the Lambda handler of one route group: API Gateway HTTP
// API (payload 2.0) events in, the same http.Handler as the local server in
// the middle.
type HTTPFunction func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// WebGroup is the web UI's $default function (internal/web.Group); its
// other page groups' functions are named WebGroup-<name> (web-admin,
// web-portal).
const WebGroup = "web"

// NewHTTPFunction adapts the handler of group to Lambda: the API's routes
// of the group, or for a web group (WebGroup, WebGroup-…) that group's
// pages (internal/app/webui must be imported).
func (a *App) NewHTTPFunction(group string) HTTPFunction {
	if group == WebGroup || strings.HasPrefix(group, WebGroup+"-") {
		return HTTPHandler(newWebUI(a, group))
	}
	return HTTPHandler(a.API.Handler(group))
}

// HTTPHandler adapts h to Lambda.
func HTTPHandler(h http.Handler) HTTPFunction {
	return httpadapter.NewV2(joinSplitHeaders(h)).ProxyWithContext
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

// StartHTTPFunction is the whole main of an API Lambda function: read the
// configuration, open the store, serve the group's routes. It exits with a
// clear message when the configuration is unusable. Only routes(a.API) are
// referenced, so the function links only its group's handlers and what
// they call. newSES is nil for a group that sends no mail: its mailer then
// refuses (noMailer), and the function does not link the SES client.
func StartHTTPFunction(group string, routes httpapi.GroupRoutes, newSES NewSES) {
	a := StartApp(group, newSES)
	lambda.Start(HTTPHandler(a.API.Serve(routes(a.API))))
}

// StartApp reads the configuration, opens the store and the mailer (SES
// through newSES, or noMailer when nil) and wires the app, for a Lambda
// function's main; it exits with a clear message when that fails.
func StartApp(function string, newSES NewSES) *App {
	cfg, log := mustConfig(function)
	st, err := OpenStore(context.Background(), cfg, os.Getenv, os.Environ())
	if err != nil {
		fail(log, "store", err)
	}
	var mailer mail.Mailer = noMailer{function}
	if newSES != nil {
		if mailer, err = openSES(context.Background(), cfg, os.Getenv, os.Environ(), newSES); err != nil {
			fail(log, "mail", err)
		}
	}
	return New(cfg, st, domain.SystemClock, domain.NewULIDs(domain.SystemClock), log, WithMailer(mailer))
}

// noMailer is the mailer of a function that sends no mail: were a route of
// it to send some after all, it fails loudly instead of dropping it.
type noMailer struct{ function string }

func (n noMailer) Send(context.Context, mail.Message) error {
	return fmt.Errorf("mail: the %s function sends no mail (its main passes no mailer)", n.function)
}
