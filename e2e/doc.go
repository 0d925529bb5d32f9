// Package e2e holds cogmail's end-to-end tests: the shared encrypted Cognito
// events go through ingest, the local SQS endpoint and dispatch to the
// provider fakes, all in one process on 127.0.0.1.
package e2e
