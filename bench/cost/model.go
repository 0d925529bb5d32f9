package main

import (
	"math"
	"time"
)

// Prices are AWS list prices for one region, in US dollars.
type Prices struct {
	Region, Date   string
	LambdaRequest  float64 // per invocation
	LambdaGBSecond float64 // arm64, first tier
	SQSRequest     float64 // standard queue, per request of up to 64 KiB
	KMSRequest     float64 // symmetric key requests
	KMSKeyMonth    float64 // per customer managed key
	DynamoDBWrite  float64 // on-demand, per write request unit (items up to 1 KB)
	LogsIngestGB   float64 // CloudWatch Logs, standard class, per GB ingested
	XRayTrace      float64 // per trace recorded
	SecretMonth    float64 // Secrets Manager, per secret
	AlarmMonth     float64 // CloudWatch standard-resolution alarm
	DashboardMonth float64 // CloudWatch dashboard (the first three of an account are free)
	MetricMonth    float64 // CloudWatch custom metric (EMF) series, first tier
	SESEmail       float64 // SES outbound email, when SES is the provider
}

// ListPrices are us-east-1 list prices as the author knew them (see
// docs/cost.md): no free tier is subtracted, since it is shared with
// whatever else runs in the account.
var ListPrices = Prices{
	Region:         "us-east-1",
	Date:           "2025-06 (not re-checked: no internet access when written)",
	LambdaRequest:  0.20 / 1e6,
	LambdaGBSecond: 0.0000133334,
	SQSRequest:     0.40 / 1e6,
	KMSRequest:     0.03 / 1e4,
	KMSKeyMonth:    1.00,
	DynamoDBWrite:  0.625 / 1e6,
	LogsIngestGB:   0.50,
	XRayTrace:      5.00 / 1e6,
	SecretMonth:    0.40,
	AlarmMonth:     0.10,
	DashboardMonth: 3.00,
	MetricMonth:    0.30,
	SESEmail:       0.10 / 1000,
}

// Stack is what the template deploys, read from infra/template.yaml.
type Stack struct {
	IngestMemoryMB, DispatchMemoryMB  int
	BatchSize                         int
	BatchingWindow                    time.Duration
	DispatchMaxConcurrency            int
	Keys, Secrets, Alarms, Dashboards int
}

// Function is one function's measured figures on this machine (amd64, AWS
// endpoints on loopback). Wall times are reported; the model prices CPU.
type Function struct {
	Name       string
	Cold, Warm time.Duration // wall: exec → first event handled; one more event
	ColdCPU    time.Duration // the process's CPU up to its first answer (start-up and the first event)
	WarmCPU    time.Duration // its CPU per later event
	PeakMiB    float64       // peak resident memory of the process (VmHWM)
	LogBytes   int           // bytes the function itself logs per event
}

// Measured is everything taken from benchmark output.
type Measured struct {
	Ingest, Node Function
	DispatchCPU  time.Duration // dispatch's CPU per message (open, claim, send, complete)
}

// Assumptions are what this machine cannot measure; each is printed beside
// the table.
type Assumptions struct {
	ArchFactor          float64       // CPU time on a Lambda arm64 (Graviton2) core / on this machine's core
	FullCoreMB          int           // memory at which Lambda gives one whole vCPU (1769 MB, AWS documentation)
	AWSCallRTT          time.Duration // one in-region KMS, SQS or DynamoDB call
	ProviderLatency     time.Duration // one send to the email provider
	IdleTimeout         time.Duration // how long Lambda keeps an idle environment
	DispatchLogBytes    int           // dispatch's own log bytes per message (received + sent + EMF)
	PlatformLogBytes    int           // Lambda's platform lines per invocation (start, report)
	IdleReceivesPerMin  float64       // the event source mapping's empty long polls
	MetricSeries        int           // distinct EMF metric series (metric × dimension values)
	SealMaxAge          time.Duration // pkg/seal: a data key is replaced after this long
	SealMaxUses         int           // pkg/seal: or after this many messages
	XRayReservoirPerSec float64       // X-Ray's default rule: the first request each second...
	XRayRate            float64       // ...and this fraction of the rest
}

// DefaultAssumptions are documented in docs/cost.md.
var DefaultAssumptions = Assumptions{
	ArchFactor:          1.5,
	FullCoreMB:          1769,
	AWSCallRTT:          10 * time.Millisecond,
	ProviderLatency:     100 * time.Millisecond,
	IdleTimeout:         5 * time.Minute,
	DispatchLogBytes:    1500,
	PlatformLogBytes:    600,
	IdleReceivesPerMin:  15, // 5 pollers × one 20 s long poll each
	MetricSeries:        40,
	SealMaxAge:          5 * time.Minute,
	SealMaxUses:         10000,
	XRayReservoirPerSec: 1,
	XRayRate:            0.05,
}

// Month is the billing month the volumes are spread over.
const Month = 30 * 24 * time.Hour

// Line is one priced item of an estimate.
type Line struct {
	Item     string
	Quantity float64
	Unit     string
	USD      float64
}

// Estimate is the monthly cost of one volume.
type Estimate struct {
	Emails int
	Lines  []Line
}

// Total is the sum of the lines, the SES sending line excluded when
// withSES is false.
func (e Estimate) Total(withSES bool) float64 {
	t := 0.0
	for _, l := range e.Lines {
		if l.Item == itemSES && !withSES {
			continue
		}
		t += l.USD
	}
	return t
}

// Line names used by the tests and the report.
const (
	itemIngestRequests   = "Lambda ingest: requests"
	itemIngestDuration   = "Lambda ingest: duration"
	itemDispatchRequests = "Lambda dispatch: requests"
	itemDispatchDuration = "Lambda dispatch: duration"
	itemKMSRequests      = "KMS: requests"
	itemSQSRequests      = "SQS: requests"
	itemDynamoDB         = "DynamoDB: idempotency writes"
	itemLogs             = "CloudWatch Logs: ingestion"
	itemXRay             = "X-Ray: traces recorded"
	itemKey              = "KMS: key (with rotation: +$1 per rotated version)"
	itemSecrets          = "Secrets Manager: provider secrets"
	itemAlarms           = "CloudWatch: alarms"
	itemDashboard        = "CloudWatch: dashboard"
	itemMetrics          = "CloudWatch: EMF metric series"
	itemSES              = "SES: emails sent (if SES is the provider)"
)

// scaledCPU turns time measured on a whole amd64 core into time on a Lambda
// arm64 function of memMB: Lambda gives CPU in proportion to memory (one
// vCPU at FullCoreMB), and an arm64 core does the same work in ArchFactor
// times as long.
func (a Assumptions) scaledCPU(d time.Duration, memMB int) time.Duration {
	share := math.Min(1, float64(memMB)/float64(a.FullCoreMB))
	return time.Duration(float64(d) * a.ArchFactor / share)
}

// billed rounds a duration up to Lambda's 1 ms granularity.
func billed(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// Invocation is the modelled cost of one kind of invocation.
type Invocation struct {
	Cold, Warm time.Duration // billed duration
}

// IngestInvocation models an ingest event in AWS: the measured CPU scaled
// to arm64 at memMB, plus the AWS round trips, which on loopback cost
// almost nothing: KMS Decrypt and SQS SendMessage on every event, and
// GenerateDataKey on a cold start.
func (a Assumptions) IngestInvocation(f Function, memMB int) Invocation {
	return Invocation{
		Cold: billed(a.scaledCPU(f.ColdCPU, memMB) + 3*a.AWSCallRTT),
		Warm: billed(a.scaledCPU(f.WarmCPU, memMB) + 2*a.AWSCallRTT),
	}
}

// Volume derives the traffic shape of a month of n emails, spread evenly.
type Volume struct {
	Emails        float64
	PerSecond     float64
	ColdFraction  float64 // of invocations, one environment
	BatchMessages float64 // messages per dispatch invocation
	Batches       float64
}

func (a Assumptions) volume(n int, st Stack) Volume {
	v := Volume{Emails: float64(n), PerSecond: float64(n) / Month.Seconds()}
	// An arrival after an idle gap longer than IdleTimeout finds no warm
	// environment: with Poisson arrivals that is exp(-rate × timeout).
	v.ColdFraction = math.Exp(-v.PerSecond * a.IdleTimeout.Seconds())
	// The event source mapping waits up to the batching window after the
	// first message, collecting what arrives meanwhile.
	v.BatchMessages = math.Min(float64(st.BatchSize), 1+v.PerSecond*st.BatchingWindow.Seconds())
	v.Batches = v.Emails / v.BatchMessages
	return v
}

// sampled is the traces X-Ray's default rule records for invocations
// arriving evenly at perSecond.
func (a Assumptions) sampled(total, perSecond float64) float64 {
	if perSecond <= a.XRayReservoirPerSec {
		return total
	}
	fraction := (a.XRayReservoirPerSec + a.XRayRate*(perSecond-a.XRayReservoirPerSec)) / perSecond
	return total * fraction
}

// Cost estimates one month of n emails with ingest measured as ingest.
func Cost(n int, ingest Function, m Measured, st Stack, a Assumptions, p Prices) Estimate {
	v := a.volume(n, st)
	gb := func(memMB int) float64 { return float64(memMB) / 1024 }

	// ingest: one invocation per Cognito event.
	in := a.IngestInvocation(ingest, st.IngestMemoryMB)
	ingestSeconds := v.Emails * (v.ColdFraction*in.Cold.Seconds() + (1-v.ColdFraction)*in.Warm.Seconds())

	// dispatch: the measured CPU per message times the batch, plus the
	// provider's answer and the idempotency claim and completion (two
	// DynamoDB round trips; the messages of a batch run concurrently). A
	// cold start adds the ingest bootstrap's start-up CPU (both are Go
	// bootstraps with the same SDK set-up; dispatch's is not measured).
	batchTime := a.scaledCPU(time.Duration(float64(m.DispatchCPU)*v.BatchMessages), st.DispatchMemoryMB) +
		a.ProviderLatency + 2*a.AWSCallRTT
	batchWarm := billed(batchTime)
	batchCold := billed(batchTime + a.scaledCPU(m.Ingest.ColdCPU-m.Ingest.WarmCPU, st.DispatchMemoryMB))
	batchRate := v.PerSecond / v.BatchMessages
	dispatchCold := math.Exp(-batchRate * a.IdleTimeout.Seconds())
	dispatchSeconds := v.Batches * (dispatchCold*batchCold.Seconds() + (1-dispatchCold)*batchWarm.Seconds())

	// KMS: one Decrypt per Cognito code (the Encryption SDK's keyring);
	// a data key per sealing window in which a message arrives (and per
	// cold start), GenerateDataKey'd by ingest and Decrypt'ed once by each
	// dispatch environment that opens it.
	windows := Month.Seconds() / a.SealMaxAge.Seconds()
	dataKeys := windows*(1-math.Exp(-v.PerSecond*a.SealMaxAge.Seconds())) + v.Emails*v.ColdFraction
	dataKeys = math.Min(v.Emails, math.Max(dataKeys, v.Emails/float64(a.SealMaxUses)))
	dispatchEnvs := math.Max(1, math.Min(float64(st.DispatchMaxConcurrency), math.Ceil(batchRate*batchWarm.Seconds())))
	kms := v.Emails + dataKeys + dataKeys*dispatchEnvs

	// SQS: SendMessage per email (a sealed email is well under 64 KiB),
	// then per batch one ReceiveMessage and one DeleteMessageBatch, plus
	// the event source mapping's long polls while the queue is empty.
	idlePolls := a.IdleReceivesPerMin * Month.Minutes()
	sqs := v.Emails + 2*v.Batches + idlePolls

	logBytes := v.Emails*float64(ingest.LogBytes+a.PlatformLogBytes) +
		v.Batches*float64(a.PlatformLogBytes) + v.Emails*float64(a.DispatchLogBytes)
	logGB := logBytes / (1 << 30)

	traces := a.sampled(v.Emails, v.PerSecond) + a.sampled(v.Batches, batchRate)

	ingestGBs := ingestSeconds * gb(st.IngestMemoryMB)
	dispatchGBs := dispatchSeconds * gb(st.DispatchMemoryMB)
	return Estimate{Emails: n, Lines: []Line{
		{itemIngestRequests, v.Emails, "invocations", v.Emails * p.LambdaRequest},
		{itemIngestDuration, ingestGBs, "GB-s", ingestGBs * p.LambdaGBSecond},
		{itemDispatchRequests, v.Batches, "invocations", v.Batches * p.LambdaRequest},
		{itemDispatchDuration, dispatchGBs, "GB-s", dispatchGBs * p.LambdaGBSecond},
		{itemKMSRequests, kms, "requests", kms * p.KMSRequest},
		{itemSQSRequests, sqs, "requests", sqs * p.SQSRequest},
		{itemDynamoDB, 2 * v.Emails, "WRU", 2 * v.Emails * p.DynamoDBWrite},
		{itemLogs, logGB, "GB", logGB * p.LogsIngestGB},
		{itemXRay, traces, "traces", traces * p.XRayTrace},
		{itemKey, float64(st.Keys), "keys", float64(st.Keys) * p.KMSKeyMonth},
		{itemSecrets, float64(st.Secrets), "secrets", float64(st.Secrets) * p.SecretMonth},
		{itemAlarms, float64(st.Alarms), "alarms", float64(st.Alarms) * p.AlarmMonth},
		{itemDashboard, float64(st.Dashboards), "dashboards", float64(st.Dashboards) * p.DashboardMonth},
		{itemMetrics, float64(a.MetricSeries), "series", float64(a.MetricSeries) * p.MetricMonth},
		{itemSES, v.Emails, "emails", v.Emails * p.SESEmail},
	}}
}
