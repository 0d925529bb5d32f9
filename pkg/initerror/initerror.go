// Package initerror reports a function's failed cold start through the
// Lambda Runtime API's init-error call, so that the console and `aws lambda
// invoke` show why (the rejected variable, say) rather than only
// Runtime.ExitError. aws-lambda-go (v1.55) has no such call: a main that
// exits before lambda.Start leaves Lambda nothing but the exit status.
package initerror

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// Error types the functions report; Lambda shows them as errorType.
const (
	TypeConfiguration = "Cogmail.ConfigurationError" // the environment was rejected
	TypeColdStart     = "Cogmail.ColdStartError"     // building the dependencies failed
)

// apiVersion is the Runtime API version every provided.al2023 runtime speaks.
const apiVersion = "2018-06-01"

// Report posts the error to the Runtime API at api (the host:port in
// AWS_LAMBDA_RUNTIME_API) as the function's init error. The message is
// err's text: it must not hold a secret (config errors name variables, not
// their secret values).
func Report(ctx context.Context, api, errorType string, err error) error {
	body, _ := json.Marshal(struct {
		Message    string   `json:"errorMessage"`
		Type       string   `json:"errorType"`
		StackTrace []string `json:"stackTrace"`
	}{err.Error(), errorType, []string{}})
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+"/"+apiVersion+"/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return fmt.Errorf("initerror: %w", rerr)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", errorType)
	resp, rerr := http.DefaultClient.Do(req)
	if rerr != nil {
		return fmt.Errorf("initerror: report to the Runtime API: %w", rerr)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("initerror: the Runtime API answered %s", resp.Status)
	}
	return nil
}

// Exit logs msg with the error, reports it through the Runtime API when
// running under one (AWS_LAMBDA_RUNTIME_API is set), and exits with status 1.
func Exit(log *slog.Logger, errorType, msg string, err error) {
	log.Error(msg, "error", err.Error())
	if api := os.Getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if rerr := Report(ctx, api, errorType, fmt.Errorf("%s: %w", msg, err)); rerr != nil {
			log.Error("init error not reported", "error", rerr.Error())
		}
		cancel()
	}
	os.Exit(1)
}
