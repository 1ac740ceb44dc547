package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// PartnerLoopStackProps configure one deployment (a stage) of PartnerLoop.
// They are template.yaml's parameters, typed.
type PartnerLoopStackProps struct {
	awscdk.StackProps

	// Stage names the deployment ("prod", "staging"): it is part of the
	// stack's name and tags every resource.
	Stage string
	// PublicBaseURL is the public base URL of the API, used to build
	// referral links (https://go.example.com).
	PublicBaseURL string
	// MailFrom is the sender of the platform's email, an address or
	// "Name <address>" of the SES identity MailIdentity.
	MailFrom string
	// MailIdentity is the verified SES identity (domain or address)
	// MailFrom belongs to; the functions that send may send as it only.
	MailIdentity string
	// LogLevel is the functions' minimum log level: debug, info, warn, error.
	LogLevel string
	// AlarmEmail, when set, is subscribed to the alarm topic.
	AlarmEmail string
	// SecretsKey (base64 of 32 bytes) seals stored secrets; the functions
	// that read them get it as SECRETS_KEY.
	SecretsKey string
	// CodeDir holds each function's code in <LogicalID>/bootstrap, as
	// `make lambda` writes it (.aws-sam/make).
	CodeDir string
}

var (
	publicBaseURLPattern = regexp.MustCompile(`^https?://[^/\s]+(/\S*)?$`)
	mailIdentityPattern  = regexp.MustCompile(`^[^\s/]+$`)
	stagePattern         = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,30}$`)
	logLevels            = []string{"debug", "info", "warn", "error"}
	secretsKeyPattern    = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=$`)
)

// Validate reports the first prop that template.yaml's parameter
// constraints would refuse.
func (p *PartnerLoopStackProps) Validate() error {
	switch {
	case !stagePattern.MatchString(p.Stage):
		return fmt.Errorf("stage %q: want a letter, then letters, digits or dashes (at most 31)", p.Stage)
	case !publicBaseURLPattern.MatchString(p.PublicBaseURL):
		return fmt.Errorf("publicBaseUrl %q: want an absolute http(s) URL such as https://go.example.com", p.PublicBaseURL)
	case p.MailFrom == "":
		return fmt.Errorf("mailFrom is empty: want the sender of the platform's email")
	case !mailIdentityPattern.MatchString(p.MailIdentity):
		return fmt.Errorf("mailIdentity %q: want the verified SES domain or address", p.MailIdentity)
	case !slices.Contains(logLevels, p.LogLevel):
		return fmt.Errorf("logLevel %q: want one of %s", p.LogLevel, strings.Join(logLevels, ", "))
	case p.AlarmEmail != "" && !strings.Contains(p.AlarmEmail, "@"):
		return fmt.Errorf("alarmEmail %q: want an e-mail address, or nothing", p.AlarmEmail)
	case !secretsKeyPattern.MatchString(p.SecretsKey):
		return fmt.Errorf("secretsKey: want 32 random bytes in base64 (openssl rand -base64 32)")
	}
	for _, f := range Functions {
		if _, err := os.Stat(filepath.Join(p.CodeDir, f.LogicalID(), "bootstrap")); err != nil {
			return fmt.Errorf("no code for %s in %s (run `make lambda`, or `make synth`): %w", f.LogicalID(), p.CodeDir, err)
		}
	}
	return nil
}

// logRetention is how long the functions' and the API's logs are kept
// (template.yaml: RetentionInDays 30).
const logRetention = awslogs.RetentionDays_ONE_MONTH

// system is what the stack builds, for the operations (operations.go).
type system struct {
	stack     awscdk.Stack
	table     awsdynamodb.Table
	api       awsapigatewayv2.HttpApi
	queues    map[string]awssqs.Queue
	functions map[string]awslambda.Function // by Function.Name
}

// NewPartnerLoopStack builds the whole system: the table, the queues, the
// HTTP API, every function of Functions with its triggers and permissions,
// and the alarms and dashboard (operations.go).
func NewPartnerLoopStack(scope constructs.Construct, id string, props *PartnerLoopStackProps) awscdk.Stack {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	awscdk.Tags_Of(stack).Add(jsii.String("partnerloop:stage"), jsii.String(props.Stage), &awscdk.TagProps{
		// Dashboard tags are newer than cfn-lint 1.51's resource schemas.
		ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard"),
	})

	s := &system{stack: stack, queues: map[string]awssqs.Queue{}, functions: map[string]awslambda.Function{}}
	s.table = newTable(stack)
	for _, q := range Queues {
		s.queue(q.Name)
	}
	apiLogs := awslogs.NewLogGroup(stack, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: logRetention, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	s.api = awsapigatewayv2.NewHttpApi(stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("PartnerLoop referral and partner platform"),
		// The $default stage with an access log, added below.
		CreateDefaultStage: jsii.Bool(false),
	})
	awsapigatewayv2.NewHttpStage(stack, jsii.String("HttpApiDefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi: s.api, StageName: jsii.String("$default"), AutoDeploy: jsii.Bool(true),
		AccessLogSettings: &accessLogSettings{awsapigatewayv2.NewLogGroupLogDestination(apiLogs)},
	})

	env := map[string]*string{
		"STORE":           jsii.String("dynamodb"),
		"TABLE_NAME":      s.table.TableName(),
		"PUBLIC_BASE_URL": jsii.String(props.PublicBaseURL),
		"MAIL_FROM":       jsii.String(props.MailFrom),
		"LOG_LEVEL":       jsii.String(props.LogLevel),
		// How long a partner's deal registration is exclusive (days).
		"DEAL_EXCLUSIVITY_DAYS": jsii.String("90"),
	}
	for _, f := range Functions {
		s.addFunction(f, props, env)
	}
	addOperations(s, props)

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Base URL of the HTTP API ($default stage); the web UI signs in at /login."),
		Value:       s.api.ApiEndpoint(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{
		Description: jsii.String("Name of the DynamoDB single table."), Value: s.table.TableName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("CommissionQueueUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("The commission calculator's queue."), Value: s.queues["CommissionQueue"].QueueUrl(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("CommissionDLQUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Dead letters of the commission queue (poison messages after 5 receives)."),
		Value:       s.queues["CommissionDLQ"].QueueUrl(),
	})
	addNagSuppressions(s)
	return stack
}

// accessLogSettings sends the API's access log to a log group, one JSON
// line per request (template.yaml: AccessLogSettings).
type accessLogSettings struct {
	dest awsapigatewayv2.IAccessLogDestination
}

func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination { return a.dest }
func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat {
	return awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat))
}

// accessLogFormat is the API's access log line (the same in template.yaml).
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","method":"$context.httpMethod","path":"$context.path","routeKey":"$context.routeKey","status":"$context.status","latencyMs":"$context.responseLatency","integrationStatus":"$context.integrationStatus","integrationError":"$context.integrationErrorMessage"}`

// newTable is the single table: PK/SK, two overloaded GSIs, the stream the
// pipeline reads, TTL, point-in-time recovery; it outlives the stack.
func newTable(stack awscdk.Stack) awsdynamodb.Table {
	str := func(name string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	t := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: str("PK"), SortKey: str("SK"),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Stream:              awsdynamodb.StreamViewType_NEW_AND_OLD_IMAGES,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:    awsdynamodb.TableEncryption_AWS_MANAGED,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	for _, gsi := range []string{"GSI1", "GSI2"} {
		t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName: jsii.String(gsi), PartitionKey: str(gsi + "PK"), SortKey: str(gsi + "SK"),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	return t
}

// queue returns the queue of Queues named name, creating it (after its
// dead-letter queue) on first use; a name not in Queues is a mistake in
// functions.go.
func (s *system) queue(name string) awssqs.Queue {
	if q, ok := s.queues[name]; ok {
		return q
	}
	i := slices.IndexFunc(Queues, func(q Queue) bool { return q.Name == name })
	if i < 0 {
		panic(fmt.Sprintf("queue %q is not declared in Queues", name))
	}
	spec := Queues[i]
	props := &awssqs.QueueProps{
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(spec.RetentionDays)),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	}
	if spec.Fifo {
		props.Fifo = jsii.Bool(true)
	}
	if spec.VisibilitySeconds > 0 {
		props.VisibilityTimeout = awscdk.Duration_Seconds(jsii.Number(spec.VisibilitySeconds))
	}
	if spec.DeadLetter != "" {
		props.DeadLetterQueue = &awssqs.DeadLetterQueue{Queue: s.queue(spec.DeadLetter), MaxReceiveCount: jsii.Number(spec.MaxReceives)}
	}
	q := awssqs.NewQueue(s.stack, jsii.String(name), props)
	s.queues[name] = q
	return q
}

func (s *system) addFunction(f Function, props *PartnerLoopStackProps, common map[string]*string) {
	stack, id := s.stack, f.LogicalID()
	env := map[string]*string{}
	for k, v := range common {
		env[k] = v
	}
	for k, q := range f.QueueURLs {
		env[k] = s.queue(q).QueueUrl()
	}
	if f.Secrets {
		env["SECRETS_KEY"] = jsii.String(props.SecretsKey)
	}
	logs := awslogs.NewLogGroup(stack, jsii.String(id+"LogGroup"), &awslogs.LogGroupProps{
		Retention: logRetention, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// The binary `make lambda` built, as is. GoFunction would compile
	// again with its own flags (in Docker unless bundled locally); the
	// Makefile's build-<LogicalID> target is the one build of a function,
	// for SAM and for CDK alike.
	fn := awslambda.NewFunction(stack, jsii.String(id), &awslambda.FunctionProps{
		Description:  jsii.String(f.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(props.CodeDir, id)), nil),
		MemorySize:   jsii.Number(f.memory()),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(f.timeout())),
		Environment:  &env,
		LogGroup:     logs,
	})
	s.functions[f.Name] = fn

	// Least privilege: exactly the actions template.yaml grants, on the
	// resources it names (the parity test compares them).
	allow := func(actions []string, resources ...*string) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(actions...), Resources: &resources,
		}))
	}
	if len(f.Table) > 0 {
		allow(prefixed("dynamodb:", f.Table), s.table.TableArn(), jsii.String(*s.table.TableArn()+"/index/*"))
	}
	if f.SendsMail {
		allow([]string{"ses:SendEmail"}, stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String(props.MailIdentity),
		}))
	}
	if f.ReadsStream {
		allow([]string{"dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"}, s.table.TableStreamArn())
		allow([]string{"dynamodb:DescribeTable"}, s.table.TableArn())
	}
	if len(f.SendsTo) > 0 {
		var arns []*string
		for _, q := range f.SendsTo {
			arns = append(arns, s.queue(q).QueueArn())
		}
		allow([]string{"sqs:SendMessage"}, arns...)
	}

	if len(f.Routes) > 0 {
		// One integration per function, for all its routes.
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(id+"Integration"), fn, nil)
		for _, r := range f.Routes {
			s.addRoute(integration, id, r)
		}
	}
	// The event source mappings are written as CloudFormation resources
	// (L1): the L2 event sources grant more than Lambda needs (the queue's
	// ChangeMessageVisibility and GetQueueUrl, ListStreams on "*"), so the
	// exact permissions are granted here, next to the mapping.
	if t := f.Stream; t != nil {
		allow([]string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}, s.table.TableStreamArn())
		allow([]string{"dynamodb:ListStreams"}, jsii.String(*s.table.TableArn()+"/stream/*"))
		pattern, err := json.Marshal(map[string]any{"dynamodb": map[string]any{"NewImage": map[string]any{"type": map[string]any{"S": t.Types}}}})
		if err != nil {
			panic(err)
		}
		awslambda.NewCfnEventSourceMapping(stack, jsii.String(id+"TableStream"), &awslambda.CfnEventSourceMappingProps{
			FunctionName:                   fn.FunctionName(),
			EventSourceArn:                 s.table.TableStreamArn(),
			StartingPosition:               jsii.String("TRIM_HORIZON"),
			BatchSize:                      jsii.Number(t.BatchSize),
			MaximumBatchingWindowInSeconds: jsii.Number(t.WindowSecs),
			MaximumRetryAttempts:           jsii.Number(t.Retries),
			BisectBatchOnFunctionError:     jsii.Bool(true),
			FunctionResponseTypes:          jsii.Strings("ReportBatchItemFailures"),
			DestinationConfig: &awslambda.CfnEventSourceMapping_DestinationConfigProperty{
				OnFailure: &awslambda.CfnEventSourceMapping_OnFailureProperty{Destination: s.queue(t.OnFailure).QueueArn()},
			},
			FilterCriteria: &awslambda.CfnEventSourceMapping_FilterCriteriaProperty{
				Filters: &[]any{&awslambda.CfnEventSourceMapping_FilterProperty{Pattern: jsii.String(string(pattern))}},
			},
		})
	}
	if t := f.Queue; t != nil {
		q := s.queue(t.Queue)
		allow([]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, q.QueueArn())
		awslambda.NewCfnEventSourceMapping(stack, jsii.String(id+"Queue"), &awslambda.CfnEventSourceMappingProps{
			FunctionName:          fn.FunctionName(),
			EventSourceArn:        q.QueueArn(),
			BatchSize:             jsii.Number(t.BatchSize),
			FunctionResponseTypes: jsii.Strings("ReportBatchItemFailures"),
			ScalingConfig:         &awslambda.CfnEventSourceMapping_ScalingConfigProperty{MaximumConcurrency: jsii.Number(t.MaxConcurrency)},
		})
	}
	if t := f.Schedule; t != nil {
		awsscheduler.NewSchedule(stack, jsii.String(id+t.Name), &awsscheduler.ScheduleProps{
			Schedule: awsscheduler.ScheduleExpression_Expression(jsii.String(t.Expression), nil),
			Target: awsschedulertargets.NewLambdaInvoke(fn, &awsschedulertargets.ScheduleTargetBaseProps{
				Input:         awsscheduler.ScheduleTargetInput_FromText(jsii.String(t.Input)),
				RetryAttempts: jsii.Number(t.Retries),
			}),
		})
	}
}

// addRoute puts route ("METHOD /path" or "$default") on the function of
// integration.
func (s *system) addRoute(integration awsapigatewayv2.HttpRouteIntegration, id, route string) {
	if route == "$default" {
		awsapigatewayv2.NewHttpRoute(s.stack, jsii.String(id+"DefaultRoute"), &awsapigatewayv2.HttpRouteProps{
			HttpApi: s.api, RouteKey: awsapigatewayv2.HttpRouteKey_DEFAULT(), Integration: integration,
		})
		return
	}
	method, path, ok := strings.Cut(route, " ")
	if !ok {
		panic(fmt.Sprintf("route %q: want \"METHOD /path\" or \"$default\"", route))
	}
	s.api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path: jsii.String(path), Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(method)},
		Integration: integration,
	})
}

func prefixed(prefix string, actions []string) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = prefix + a
	}
	return out
}
