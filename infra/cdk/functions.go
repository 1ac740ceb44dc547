package main

// The system's Lambda functions, queues and their triggers, as data: adding
// a function is one entry in Functions (and a build-<Name>Function target
// in the Makefile). The stack (stack.go) turns each entry into the
// function, its log group, its least-privilege policy, its routes or
// trigger, and its alarms. template.yaml describes the same system by hand;
// the parity test (parity_test.go) fails on any difference.

// Access lists of DynamoDB actions a function may call on the table and its
// indexes. TransactWriteItems needs the permission of each write it holds.
var (
	readWrite       = []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "ConditionCheckItem"}
	readWriteDelete = []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"}
)

// Function is one Lambda function: provided.al2023 on arm64, handler
// bootstrap, its code the folder `make build-<Name>Function` writes
// (.aws-sam/make/<Name>Function/bootstrap, compiled from functions/<Dir>).
type Function struct {
	Name        string // logical ID without "Function": IdentityFunction, …
	Dir         string // its main package, functions/<Dir>
	Description string
	Timeout     int // seconds; 0 means defaultTimeout
	Memory      int // MB; 0 means defaultMemory

	// Table lists the DynamoDB actions (without "dynamodb:") it may call
	// on the table and its indexes; none: no table access.
	Table []string
	// SendsMail lets it call ses:SendEmail as the configured identity only.
	SendsMail bool
	// Secrets gives it SECRETS_KEY, the key that seals stored secrets
	// (webhook signing secrets, Stripe webhook secrets, partners' payout
	// details).
	Secrets bool
	// ReadsStream lets it read the table's stream itself (the analytics
	// rollup: DescribeTable for the stream's ARN, then DescribeStream,
	// GetShardIterator and GetRecords), not as a trigger.
	ReadsStream bool
	// SendsTo lists the queues (Queue.Name) it may send to.
	SendsTo []string
	// QueueURLs adds environment variables holding queue URLs: name → Queue.Name.
	QueueURLs map[string]string

	// What invokes it: HTTP routes ("GET /v1/programs/{id}", or "$default"
	// for every request no other route matches), the table's stream, a
	// queue, or a schedule.
	Routes   []string
	Stream   *StreamTrigger
	Queue    *QueueTrigger
	Schedule *ScheduleTrigger
}

// StreamTrigger invokes a function with batches of the table's stream.
type StreamTrigger struct {
	BatchSize  int
	WindowSecs int
	Retries    int
	// OnFailure is the queue (Queue.Name) that receives batches given up on.
	OnFailure string
	// Types are the record types ("type" attribute of the new image) that
	// invoke the function; other changes never do.
	Types []string
}

// QueueTrigger invokes a function with batches of a queue's messages.
type QueueTrigger struct {
	Queue          string // Queue.Name
	BatchSize      int
	MaxConcurrency int
}

// ScheduleTrigger invokes a function on an EventBridge Scheduler schedule.
type ScheduleTrigger struct {
	Name       string // the schedule's ID, e.g. "Hourly"
	Expression string // rate(...) or cron(...)
	Input      string // JSON the function receives
	Retries    int
}

// Queue is one SQS queue (SQS-managed encryption, TLS only).
type Queue struct {
	Name              string
	RetentionDays     int
	VisibilitySeconds int // 0: SQS's default (30 s)
	// DeadLetter names the queue (Queue.Name) messages move to after
	// MaxReceives failed receives.
	DeadLetter  string
	MaxReceives int
	// Fifo makes it a FIFO queue (its name ends in .fifo): messages of one
	// group are delivered in order, one at a time.
	Fifo bool
}

// Defaults of every function (template.yaml's Globals).
const (
	defaultTimeout = 10
	defaultMemory  = 256
)

// Queues of the commission pipeline: table stream → stream-router →
// CommissionQueue → commission-calculator; poison messages end in
// CommissionDLQ, stream batches the router gave up on in StreamFailureQueue.
var Queues = []Queue{
	// Visibility: six times the calculator's timeout, as AWS advises for SQS triggers.
	{Name: "CommissionQueue", RetentionDays: 14, VisibilitySeconds: 60, DeadLetter: "CommissionDLQ", MaxReceives: 5},
	{Name: "CommissionDLQ", RetentionDays: 14},
	// Public events (commission.*, referral.*, deal.*…) for the webhook
	// dispatcher, FIFO grouped by the record they are about, so that one
	// record's events are dispatched in order. Visibility: six times the
	// dispatcher's timeout.
	{Name: "EventsQueue", RetentionDays: 4, VisibilitySeconds: 720, DeadLetter: "EventsDLQ", MaxReceives: 5, Fifo: true},
	{Name: "EventsDLQ", RetentionDays: 14, Fifo: true},
	{Name: "StreamFailureQueue", RetentionDays: 14},
}

// Functions is every Lambda function of the system, one per folder in
// functions/.
var Functions = []Function{
	{
		Name: "Identity", Dir: "identity",
		Description: "Identity routes (health, OpenAPI, auth, users, API keys).",
		// Identity deletes sessions and API keys; no scans, no table administration.
		Table: readWriteDelete, SendsMail: true, Secrets: true,
		Routes: []string{
			"GET /healthz", "GET /openapi.yaml",
			"POST /v1/auth/login", "POST /v1/auth/logout", "GET /v1/me",
			"GET /v1/users", "POST /v1/users", "POST /v1/users/{id}/invitation", "PATCH /v1/users/{id}", "POST /v1/invitations/accept",
			"POST /v1/api-keys", "GET /v1/api-keys", "DELETE /v1/api-keys/{id}",
			"GET /v1/organization", "PATCH /v1/organization",
			"POST /v1/webhooks", "GET /v1/webhooks", "GET /v1/webhooks/{id}", "PATCH /v1/webhooks/{id}", "DELETE /v1/webhooks/{id}",
			"POST /v1/webhooks/{id}/rotate-secret", "GET /v1/webhooks/{id}/deliveries",
			"POST /v1/webhooks/{id}/deliveries/{deliveryId}/replay",
		},
	},
	{
		Name: "Programs", Dir: "programs",
		Description: "Program and referrer routes.",
		// Programs and referrers are archived, never deleted.
		Table: readWrite,
		Routes: []string{
			"POST /v1/programs", "GET /v1/programs", "GET /v1/programs/{id}", "PATCH /v1/programs/{id}",
			"POST /v1/programs/{id}/activate", "POST /v1/programs/{id}/pause", "POST /v1/programs/{id}/archive",
			"POST /v1/programs/{id}/referrers", "GET /v1/programs/{id}/referrers", "GET /v1/referrers/{id}",
		},
	},
	{
		Name: "Tracking", Dir: "tracking",
		Description: "Tracking routes (referral redirect, referrals, conversions).",
		// Clicks, referrals and conversions are append/update only.
		Table: readWrite,
		Routes: []string{
			"GET /r/{code}",
			"POST /v1/referrals", "GET /v1/referrals", "GET /v1/referrals/{id}",
			"POST /v1/conversions", "GET /v1/conversions", "GET /v1/conversions/{id}",
		},
	},
	{
		Name: "Commissions", Dir: "commissions",
		Description: "Commission routes (list, audit trail, approve, reject, mark paid, CSV export), conversion refunds and payout runs.",
		// The CSV export pages through every matching commission: under the
		// HTTP API's 30 s integration limit.
		Timeout: 29,
		// The ledger is append-only.
		Table: readWrite,
		// A payout run's CSV opens the partners' sealed payout details.
		Secrets: true,
		Routes: []string{
			"GET /v1/commissions", "GET /v1/commissions/export", "GET /v1/commissions/{id}",
			"POST /v1/commissions/approve", "POST /v1/commissions/reject", "POST /v1/commissions/mark-paid",
			"POST /v1/conversions/{id}/refund",
			"POST /v1/payout-runs", "GET /v1/payout-runs", "GET /v1/payout-runs/{id}",
			"POST /v1/payout-runs/{id}/mark-paid", "POST /v1/payout-runs/{id}/cancel",
		},
	},
	{
		Name: "Integrations", Dir: "integrations",
		Description: "Integration routes (Stripe webhook secret, Stripe events to conversions and refunds).",
		// DeleteItem removes an organization's Stripe secret only.
		Table: readWriteDelete,
		// The key sealing the organizations' Stripe secrets.
		Secrets: true,
		Routes: []string{
			"PUT /v1/integrations/stripe", "DELETE /v1/integrations/stripe",
			"POST /v1/integrations/stripe/{organizationId}/webhook",
		},
	},
	{
		Name: "Partners", Dir: "partners",
		Description: "Partner tier, partner and deal routes.",
		// DeleteItem removes guards and a revoked partner's sessions only.
		Table: readWriteDelete, SendsMail: true,
		Routes: []string{
			"POST /v1/partner-tiers", "GET /v1/partner-tiers",
			"POST /v1/partners", "GET /v1/partners", "GET /v1/partners/{id}", "PATCH /v1/partners/{id}",
			"POST /v1/partners/{id}/invitation", "DELETE /v1/partners/{id}/portal-access",
			"POST /v1/partners/{id}/deactivate", "POST /v1/partners/{id}/reactivate",
			"POST /v1/deals", "GET /v1/deals", "GET /v1/deals/{id}",
			"POST /v1/deals/{id}/approve", "POST /v1/deals/{id}/reject", "POST /v1/deals/{id}/won", "POST /v1/deals/{id}/lost",
		},
	},
	{
		Name: "Portal", Dir: "portal",
		Description: "Partner portal routes (a partner's own summary, links, referrals, deals, commissions, statements, payouts).",
		// A statement pages through the partner's ledger and audit trails.
		Timeout: 29,
		// Reads, and deal registration (its claim guard released on expiry).
		Table: []string{"GetItem", "BatchGetItem", "Query", "PutItem", "DeleteItem", "ConditionCheckItem"},
		// The partner's payout details are kept sealed.
		Secrets: true,
		Routes: []string{
			"GET /v1/portal/summary", "GET /v1/portal/links", "GET /v1/portal/referrals",
			"GET /v1/portal/deals", "POST /v1/portal/deals", "GET /v1/portal/deals/{id}",
			"GET /v1/portal/commissions", "GET /v1/portal/statements/{period}",
			"GET /v1/portal/payouts", "GET /v1/portal/payout-details", "PUT /v1/portal/payout-details",
			"GET /v1/portal/analytics/summary", "GET /v1/portal/analytics/summary.csv",
			"GET /v1/portal/analytics/timeseries", "GET /v1/portal/analytics/timeseries.csv",
		},
	},
	{
		Name: "StreamRouter", Dir: "stream-router",
		Description: "Turns inserted conversions, refunds and won deals on the table's stream into queue messages.",
		SendsTo:     []string{"CommissionQueue", "EventsQueue", "StreamFailureQueue"},
		QueueURLs:   map[string]string{"COMMISSION_QUEUE_URL": "CommissionQueue", "EVENTS_QUEUE_URL": "EventsQueue"},
		Stream: &StreamTrigger{
			BatchSize: 100, WindowSecs: 1, Retries: 10, OnFailure: "StreamFailureQueue",
			// Guards, clicks and sessions never invoke the router.
			Types: []string{"conversion", "commission", "deal", "referral", "partner"},
		},
	},
	{
		Name: "CommissionCalculator", Dir: "commission-calculator",
		Description: "Computes commissions from queued conversions, refunds and won deals, exactly once.",
		Table:       readWrite,
		Queue:       &QueueTrigger{Queue: "CommissionQueue", BatchSize: 10, MaxConcurrency: 10},
	},
	{
		Name: "PeriodClose", Dir: "period-close",
		Description: "Closes ended periods of retroactive tiered rules (each adjustment once) and expires lapsed partner deals.",
		Timeout:     300,
		Table:       []string{"GetItem", "Query", "PutItem", "DeleteItem"},
		Schedule: &ScheduleTrigger{
			Name: "Hourly", Expression: "rate(1 hour)", Retries: 3,
			// Scheduler context, for the logs (events/period-close-hourly.json).
			Input: `{"job":"period-close","scheduleArn":"<aws.scheduler.schedule-arn>","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>","attemptNumber":"<aws.scheduler.attempt-number>"}`,
		},
	},
	{
		Name: "Analytics", Dir: "analytics",
		Description: "Analytics routes (summary, time series, top referrers, partner contribution; JSON and CSV).",
		// Reads only: rollup cells and state, and the records filters name.
		Table: []string{"GetItem", "BatchGetItem", "Query"},
		Routes: []string{
			"GET /v1/analytics/summary", "GET /v1/analytics/summary.csv", "GET /v1/analytics/timeseries", "GET /v1/analytics/timeseries.csv",
			"GET /v1/analytics/top-referrers", "GET /v1/analytics/top-referrers.csv", "GET /v1/analytics/partners", "GET /v1/analytics/partners.csv",
		},
	},
	{
		Name: "AnalyticsRollup", Dir: "analytics-rollup",
		Description: "Folds the table's changes into the analytics rollups every minute, rebuilds on a time zone change, heals recent days.",
		Timeout:     120,
		Memory:      512,
		// Its own items (cells, checkpoints, manifests deleted once applied)
		// and the records it recounts; the stream it reads itself.
		Table:       []string{"GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
		ReadsStream: true,
		Schedule: &ScheduleTrigger{
			Name: "EveryMinute", Expression: "rate(1 minute)", Retries: 0,
			// Scheduler context, for the logs (events/analytics-rollup-minute.json).
			Input: `{"job":"analytics-rollup","scheduleArn":"<aws.scheduler.schedule-arn>","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>","attemptNumber":"<aws.scheduler.attempt-number>"}`,
		},
	},
	{
		Name: "WebhookDispatcher", Dir: "webhook-dispatcher",
		Description: "Delivers events to organizations' webhook endpoints (Standard Webhooks) and retries failed deliveries every minute.",
		// A batch of 10 events, each attempted (10 s at most per endpoint,
		// endpoints in parallel) one after the other: within 120 s.
		Timeout: 120,
		// Endpoints and the delivery log; no deletes. Mails admins about
		// endpoints it disables.
		Table: readWrite, SendsMail: true, Secrets: true,
		Queue: &QueueTrigger{Queue: "EventsQueue", BatchSize: 10, MaxConcurrency: 5},
		Schedule: &ScheduleTrigger{
			Name: "EveryMinute", Expression: "rate(1 minute)", Retries: 0,
			// Scheduler context, for the logs (events/webhook-dispatcher-retry-minute.json).
			Input: `{"job":"webhook-retry","scheduleArn":"<aws.scheduler.schedule-arn>","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>","attemptNumber":"<aws.scheduler.attempt-number>"}`,
		},
	},
	{
		Name: "Web", Dir: "web",
		Description: "Web UI (HTML pages and assets) on the HTTP API's $default route.",
		// The commissions page downloads the same CSV as the commissions function.
		// Settings → Webhooks seals the endpoints' signing secrets.
		Timeout: 29,
		Table:   readWriteDelete, Secrets: true,
		Routes: []string{"$default"},
	},
	// The web UI's other page groups (internal/web.WebGroupPrefixes), each
	// its own function so that each links only its pages; the same
	// permissions and secrets key as Web.
	{
		Name: "WebPartners", Dir: "web-partners",
		Description: "Web UI pages of partners (and their analytics), partner tiers and deals.",
		Timeout:     29,
		Table:       readWriteDelete, Secrets: true,
		Routes: []string{"ANY /partners", "ANY /partners/{proxy+}", "ANY /partners.csv", "ANY /partner-tiers", "ANY /partner-tiers/{proxy+}", "ANY /deals", "ANY /deals/{proxy+}", "ANY /deals.csv"},
	},
	{
		Name: "WebAdmin", Dir: "web-admin",
		Description: "Web UI pages of analytics, settings, commissions and payouts.",
		Timeout:     29,
		Table:       readWriteDelete, Secrets: true,
		Routes: []string{"ANY /analytics", "ANY /analytics/{proxy+}", "ANY /settings/{proxy+}", "ANY /commissions", "ANY /commissions/{proxy+}", "ANY /commissions.csv", "ANY /payouts", "ANY /payouts/{proxy+}"},
	},
	{
		Name: "WebPortal", Dir: "web-portal",
		Description: "Web UI partner portal pages and PDF statements.",
		Timeout:     29,
		Table:       readWriteDelete, Secrets: true,
		Routes: []string{"ANY /portal", "ANY /portal/{proxy+}"},
	},
}

// LogicalID is the function's logical ID in template.yaml and the Makefile
// target's name (build-<LogicalID>).
func (f Function) LogicalID() string { return f.Name + "Function" }

func (f Function) timeout() int {
	if f.Timeout == 0 {
		return defaultTimeout
	}
	return f.Timeout
}

func (f Function) memory() int {
	if f.Memory == 0 {
		return defaultMemory
	}
	return f.Memory
}
