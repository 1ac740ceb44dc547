// Package dynamolocal gives tests a DynamoDB Local: started once per test
// binary from TestMain,
//
//	func TestMain(m *testing.M) {
//		srv, err := dynamolocal.StartServer()
//		if err != nil { fmt.Fprintln(os.Stderr, err); os.Exit(1) }
//		code := m.Run()
//		srv.Stop()
//		os.Exit(code)
//	}
//
// or, for a single test, endpoint := dynamolocal.Start(t). The process
// itself is run by package emulators. A missing jar or Java is an error
// that says how to fix it, never a silent skip: the DynamoDB adapter is only
// proven by these tests. Set DYNAMODB_LOCAL_ENDPOINT to use a server that is
// already running (e.g. one you inspect with the AWS CLI).
package dynamolocal

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/partnerloop/partnerloop/internal/emulators"
)

// EnvEndpoint names a DynamoDB Local that is already running
// (http://127.0.0.1:8000): StartServer then starts nothing.
const EnvEndpoint = "DYNAMODB_LOCAL_ENDPOINT"

// Server is a running DynamoDB Local.
type Server struct {
	Endpoint string
	proc     *emulators.Process // nil for a server named by EnvEndpoint
}

// StartServer starts DynamoDB Local in memory on a free loopback port.
func StartServer() (*Server, error) {
	if ep := strings.TrimSpace(os.Getenv(EnvEndpoint)); ep != "" {
		return &Server{Endpoint: ep}, nil
	}
	nm, err := emulators.NodeModules()
	if err == nil {
		var p *emulators.Process
		if p, err = emulators.StartDynamoDB(nm, emulators.DynamoDBOptions{}); err == nil {
			return &Server{Endpoint: p.Endpoint, proc: p}, nil
		}
	}
	if os.Getenv("CI") == "true" {
		err = fmt.Errorf("%w (CI=true: .ci/run must provide Java and the npm emulators; this suite never skips)", err)
	}
	return nil, err
}

// Start starts a DynamoDB Local for one test and stops it when the test
// ends; it fails the test (never skips it) when the server cannot start.
func Start(t testing.TB) (endpoint string) {
	t.Helper()
	s, err := StartServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s.Endpoint
}

// Stop ends the server (a server named by EnvEndpoint is left running).
func (s *Server) Stop() {
	if s != nil && s.proc != nil {
		s.proc.Stop()
	}
}

// Client returns a DynamoDB client for a local endpoint with static local
// credentials, which are valid nowhere else.
func Client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// StreamsClient returns a DynamoDB Streams client for a local endpoint
// (DynamoDB Local serves both APIs on one port).
func StreamsClient(endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}
