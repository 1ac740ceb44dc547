// Package metrics writes the product's business metrics as CloudWatch
// Embedded Metric Format (EMF) lines: one JSON object per line on the
// function's output, which CloudWatch Logs turns into metrics of the
// namespace PartnerLoop — no API call, no extra permission, no latency.
// The dashboards of template.yaml and infra/cdk chart every metric named
// here (a test holds template.yaml to it, the CDK parity test the CDK app).
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace of every metric.
const Namespace = "PartnerLoop"

// The metrics. They count at least once: a batch Lambda retries may be
// counted again.
const (
	// PipelineEvents counts, by dimension Type, the events the stream
	// router sent on: conversion.recorded, conversion.refunded, deal.won,
	// commission.created/approved/rejected/paid/reversed.
	PipelineEvents = "PipelineEvents"
	// CommissionMessagesHandled and CommissionMessagesFailed count the
	// commission calculator's queued messages by outcome.
	CommissionMessagesHandled = "CommissionMessagesHandled"
	CommissionMessagesFailed  = "CommissionMessagesFailed"
)

// Names lists every metric of the package.
var Names = []string{PipelineEvents, CommissionMessagesHandled, CommissionMessagesFailed}

// Emitter writes EMF lines to one writer (in Lambda, standard output). A
// nil *Emitter writes nothing, for the local server and tests.
type Emitter struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// New returns an Emitter writing to w, stamping lines with now().
func New(w io.Writer, now func() time.Time) *Emitter {
	return &Emitter{w: w, now: now}
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

// Count writes value as the metric name (unit Count) with the given
// dimensions, as name/value pairs: Count(PipelineEvents, 3, "Type",
// "deal.won"). A count of zero is written too (it shows "nothing
// happened" rather than "no data"). A write error is returned; metrics
// never fail a function, so callers may ignore it.
func (e *Emitter) Count(name string, value int, dims ...string) error {
	if e == nil {
		return nil
	}
	line := map[string]any{}
	keys := []string{}
	for i := 0; i+1 < len(dims); i += 2 {
		keys = append(keys, dims[i])
		line[dims[i]] = dims[i+1]
	}
	line[name] = value
	line["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []directive{{
			Namespace: Namespace, Dimensions: [][]string{keys},
			Metrics: []metricDef{{Name: name, Unit: "Count"}},
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.w.Write(append(b, '\n'))
	return err
}
