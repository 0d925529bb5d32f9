package localstack

import (
	"maps"
	"slices"
	"strings"
)

// Var is one variable of the stack's wiring.
type Var struct{ Name, Value string }

// Wiring is what another process needs to reach the running stack, as
// environment variables: the stack's URL (COGMAIL_LOCAL_URL), the AWS
// endpoints, region and local credentials, then every setting the ingest and
// dispatch functions were built from (queue, DLQ and parameter names, the
// key ARN, the sender, the routing, and each provider fake's URL and local
// key). With it, `cogmail config check` loads the local dispatch
// configuration as the function did, and the other commands find the queues.
// None of it is secret outside this machine: the keys are the fakes'.
func (s *Stack) Wiring() []Var {
	out := []Var{
		{"COGMAIL_LOCAL_URL", s.URL},
		{"AWS_ENDPOINT_URL_KMS", s.URL},
		{"AWS_ENDPOINT_URL_SQS", s.URL},
		{"AWS_ENDPOINT_URL_SSM", s.URL},
		{"AWS_REGION", s.Region},
		{"AWS_ACCESS_KEY_ID", "local"},
		{"AWS_SECRET_ACCESS_KEY", "local"},
		{"COGMAIL_INGEST_FAILURE_QUEUE_URL", s.IngestFailureQueueURL},
	}
	env := maps.Clone(s.dispatchEnv)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, s.ingestEnv) // the same values where both have one (the queue URL)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if strings.HasPrefix(k, "COGMAIL_") {
			out = append(out, Var{k, env[k]})
		}
	}
	return out
}
