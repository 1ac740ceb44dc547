package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"
)

// Business metrics the functions emit as CloudWatch Embedded Metric Format
// log lines (internal/metrics): the dashboard shows them next to the
// operational metrics.
const (
	metricsNamespace = "PartnerLoop"
	// PipelineEvents counts the pipeline's events by Type
	// (conversion.recorded, deal.won, commission.created, …), as the
	// stream router sends them.
	pipelineEventsMetric = "PipelineEvents"
	// The commission calculator's messages, computed and failed.
	commissionsHandledMetric = "CommissionMessagesHandled"
	commissionsFailedMetric  = "CommissionMessagesFailed"
)

// Alarm thresholds (the same in template.yaml).
const (
	alarmPeriod = 300 // seconds, every alarm
	// The API: more than 5% of requests answered 5xx, or a p99 latency
	// above 3 s, for three periods in a row.
	api5xxRate        = 0.05
	apiP99LatencyMs   = 3000
	apiLatencyPeriods = 3
	// The stream: the router more than a minute behind the table.
	iteratorAgeMs = 60000
)

// addOperations sends every alarm of the system to one SNS topic (with an
// optional e-mail subscription) and adds the dashboard.
func addOperations(s *system, props *PartnerLoopStackProps) {
	stack := s.stack
	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("PartnerLoop alarms"), EnforceSSL: jsii.Bool(true),
	})
	if props.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64, periods int, op awscloudwatch.ComparisonOperator) {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(periods),
			ComparisonOperator: op,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	period := awscdk.Duration_Seconds(jsii.Number(alarmPeriod))
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period}
	maximum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period}
	atLeastOne := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
	above := awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD

	for _, f := range Functions {
		fn, id := s.functions[f.Name], f.LogicalID()
		alarm(id+"ErrorsAlarm", fmt.Sprintf("%s failed (errors or timeouts).", id), fn.MetricErrors(sum), 1, 1, atLeastOne)
		alarm(id+"ThrottlesAlarm", fmt.Sprintf("%s was throttled.", id), fn.MetricThrottles(sum), 1, 1, atLeastOne)
	}
	for _, q := range deadLetterQueues() {
		alarm(q+"DepthAlarm", fmt.Sprintf("Messages are waiting in %s: inspect and replay them.", q),
			s.queues[q].MetricApproximateNumberOfMessagesVisible(maximum), 1, 1, atLeastOne)
	}
	alarm("HttpApi5xxAlarm", "More than 5% of the API's requests failed with a 5xx status.",
		s.api.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Average"), Period: period}),
		api5xxRate, 1, above)
	alarm("HttpApiLatencyAlarm", "The API's p99 latency is above 3 s.",
		s.api.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: period}),
		apiP99LatencyMs, apiLatencyPeriods, above)
	for _, f := range Functions {
		if f.Stream != nil {
			id := f.LogicalID()
			alarm(id+"IteratorAgeAlarm", fmt.Sprintf("%s is more than a minute behind the table's stream.", id),
				s.functions[f.Name].Metric(jsii.String("IteratorAge"), maximum), iteratorAgeMs, 1, above)
		}
	}
	addDashboard(s)
}

// deadLetterQueues are the queues nothing reads but people: the redrive
// targets of Queues and the streams' on-failure destinations.
func deadLetterQueues() []string {
	var dlqs []string
	seen := map[string]bool{}
	add := func(q string) {
		if q != "" && !seen[q] {
			seen[q] = true
			dlqs = append(dlqs, q)
		}
	}
	for _, q := range Queues {
		add(q.DeadLetter)
	}
	for _, f := range Functions {
		if f.Stream != nil {
			add(f.Stream.OnFailure)
		}
	}
	return dlqs
}

// addDashboard shows the business metrics (first row) above the metrics
// the alarms watch.
func addDashboard(s *system) {
	period := awscdk.Duration_Seconds(jsii.Number(alarmPeriod))
	biz := func(name string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(metricsNamespace), MetricName: jsii.String(name),
			Statistic: jsii.String("Sum"), Period: period,
		})
	}
	graph := func(title string, left []awscloudwatch.IMetric, right ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Width: jsii.Number(12), Height: jsii.Number(6), Left: &left, Right: &right,
		})
	}
	var errs, throttles []awscloudwatch.IMetric
	for _, f := range Functions {
		fn := s.functions[f.Name]
		opts := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period, Label: jsii.String(f.Name)}
		errs = append(errs, fn.MetricErrors(opts))
		throttles = append(throttles, fn.MetricThrottles(opts))
	}
	var depth, age []awscloudwatch.IMetric
	for _, q := range deadLetterQueues() {
		depth = append(depth, s.queues[q].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Period: period, Label: jsii.String(q),
		}))
	}
	for _, f := range Functions {
		if f.Stream != nil {
			age = append(age, s.functions[f.Name].Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{
				Statistic: jsii.String("Maximum"), Period: period, Label: jsii.String(f.Name),
			}))
		}
	}
	awscloudwatch.NewDashboard(s.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				graph("Pipeline events by type", []awscloudwatch.IMetric{awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
					Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,Type} MetricName="%s"', 'Sum', %d)`, metricsNamespace, pipelineEventsMetric, alarmPeriod)),
					Label:      jsii.String(""), Period: period,
				})}),
				graph("Commission messages", []awscloudwatch.IMetric{biz(commissionsHandledMetric), biz(commissionsFailedMetric)}),
			},
			{
				graph("API requests and 5xx rate", []awscloudwatch.IMetric{s.api.MetricCount(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period})},
					s.api.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Average"), Period: period})),
				graph("API latency p99 (ms)", []awscloudwatch.IMetric{s.api.MetricLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: period})}),
			},
			{graph("Function errors", errs), graph("Function throttles", throttles)},
			{graph("Dead-letter queue depth", depth), graph("Stream iterator age (ms)", age)},
		},
	})
}
