package metrics_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/partnerloop/partnerloop/internal/metrics"
)

// TestCountWritesEMF: each count is one JSON line CloudWatch reads as
// Embedded Metric Format: the _aws directive names the namespace, the
// dimension keys and the metric; the values are top-level members.
func TestCountWritesEMF(t *testing.T) {
	var out bytes.Buffer
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	e := metrics.New(&out, func() time.Time { return at })
	if err := e.Count(metrics.PipelineEvents, 3, "Type", "deal.won"); err != nil {
		t.Fatal(err)
	}
	if err := e.Count(metrics.CommissionMessagesFailed, 0); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out.String())
	}
	type emf struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Type           string
		PipelineEvents *int
	}
	var first emf
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	d := first.AWS.CloudWatchMetrics
	if first.AWS.Timestamp != at.UnixMilli() || len(d) != 1 || d[0].Namespace != "PartnerLoop" ||
		len(d[0].Dimensions) != 1 || len(d[0].Dimensions[0]) != 1 || d[0].Dimensions[0][0] != "Type" ||
		len(d[0].Metrics) != 1 || d[0].Metrics[0] != (struct{ Name, Unit string }{"PipelineEvents", "Count"}) ||
		first.Type != "deal.won" || first.PipelineEvents == nil || *first.PipelineEvents != 3 {
		t.Errorf("first line %s", lines[0])
	}
	// No dimensions: one empty dimension set, the metric on its own.
	if !strings.Contains(lines[1], `"Dimensions":[[]]`) || !strings.Contains(lines[1], `"CommissionMessagesFailed":0`) {
		t.Errorf("second line %s", lines[1])
	}
}

func TestNilEmitterWritesNothing(t *testing.T) {
	var e *metrics.Emitter
	if err := e.Count(metrics.PipelineEvents, 1, "Type", "x"); err != nil {
		t.Fatal(err)
	}
}

// TestTemplateChartsEveryMetric: template.yaml's dashboard shows every
// metric the functions emit (infra/cdk's parity test holds the CDK app's
// dashboard to template.yaml's).
func TestTemplateChartsEveryMetric(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tpl := string(b)
	for _, name := range metrics.Names {
		if !strings.Contains(tpl, `"`+metrics.Namespace+`", "`+name+`"`) && !strings.Contains(tpl, `{`+metrics.Namespace+`,Type} MetricName=\"`+name+`\"`) {
			t.Errorf("template.yaml's Dashboard does not chart %s/%s", metrics.Namespace, name)
		}
	}
}
