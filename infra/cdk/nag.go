package main

import (
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// addNagSuppressions records each cdk-nag AwsSolutions finding the design
// accepts, with its reason. Everything else cdk-nag reports is an error in
// the cloud assembly (the tests and `make synth` fail on it). The
// appliesTo patterns keep each suppression to the one permission it is
// about, so a new wildcard still fails.
func addNagSuppressions(s *system) {
	suppress := func(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
		sp := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
		if len(appliesTo) > 0 {
			var at []any
			for _, a := range appliesTo {
				at = append(at, &cdknag.RegexAppliesTo{Regex: jsii.String(a)})
			}
			sp.AppliesTo = &at
		}
		return sp
	}
	cdknag.NagSuppressions_AddStackSuppressions(s.stack, &[]*cdknag.NagPackSuppression{
		suppress("AwsSolutions-APIG4",
			"Every route is authorized by the application itself (session cookie or API key, with the roles of "+
				"internal/httpapi's route table); the public ones (health, OpenAPI, sign-in, referral redirect, "+
				"invitation acceptance, the web UI's sign-in pages) must stay public. An API Gateway authorizer "+
				"would repeat that check at the cost of a Lambda call per request."),
		suppress("AwsSolutions-IAM4",
			"AWSLambdaBasicExecutionRole only lets a function write its CloudWatch Logs; it is the policy SAM "+
				"attaches to every function of template.yaml too.",
			`/^Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole$/`),
		suppress("AwsSolutions-IAM5",
			"The functions query the table's own global secondary indexes (GSI1, GSI2), whose ARNs are "+
				"<table ARN>/index/<name>; the actions are listed one by one.",
			`/^Resource::<Table[0-9A-F]{8}\.Arn>\/index\/\*$/`),
		suppress("AwsSolutions-IAM5",
			"dynamodb:ListStreams on the table's own streams: a stream's ARN ends in its creation time, "+
				"unknown until it exists.",
			`/^Resource::<Table[0-9A-F]{8}\.Arn>\/stream\/\*$/`),
		suppress("AwsSolutions-IAM5",
			"EventBridge Scheduler's role for a schedule may invoke its one target function and that "+
				"function's versions (CDK's LambdaInvoke target grants both).",
			`/^Resource::<[A-Za-z]+Function[0-9A-F]{8}\.Arn>:\*$/`),
	}, nil)
	cdknag.NagSuppressions_AddResourceSuppressions(s.queue("StreamFailureQueue"), &[]*cdknag.NagPackSuppression{
		suppress("AwsSolutions-SQS3",
			"It is a dead-letter queue: the on-failure destination of the stream mapping (cdk-nag only "+
				"recognises redrive targets); its depth is alarmed."),
	}, nil)
	cdknag.NagSuppressions_AddResourceSuppressions(s.queue("EventsQueue"), &[]*cdknag.NagPackSuppression{
		suppress("AwsSolutions-SQS3",
			"No function reads the events queue yet: the webhook dispatcher that will consume it brings its "+
				"redrive policy and dead-letter queue with it."),
	}, nil)
}
