package dynamolocal

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestStartAndStop(t *testing.T) {
	t.Setenv(EnvEndpoint, "")
	s, err := StartServer()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %q, want a loopback URL", s.Endpoint)
	}
	if _, err := Client(s.Endpoint).ListTables(t.Context(), &dynamodb.ListTablesInput{Limit: aws.Int32(1)}); err != nil {
		t.Errorf("ListTables: %v", err)
	}
	s.Stop()
	s.Stop()
	host := strings.TrimPrefix(s.Endpoint, "http://")
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still answers after Stop", host)
	}
}
