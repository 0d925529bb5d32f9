// Package awslocal serves the local AWS emulators (local-kms, the SQS
// endpoint, ...) on one loopback listener. AWS JSON-protocol requests name
// their service in the X-Amz-Target header, so one address can stand in for
// every AWS_ENDPOINT_URL_* a function reads.
package awslocal

import (
	"net/http"
	"strings"
)

// Router routes by X-Amz-Target prefix ("TrentService." for KMS,
// "AmazonSQS." for SQS, "AmazonSSM." for SSM). Anything else goes to Fallback.
type Router struct {
	routes   []route
	Fallback http.Handler
}

type route struct {
	prefix string
	h      http.Handler
}

// Handle adds a service: requests whose X-Amz-Target starts with prefix go to h.
func (r *Router) Handle(prefix string, h http.Handler) { r.routes = append(r.routes, route{prefix, h}) }

// ServeHTTP implements http.Handler.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if target := req.Header.Get("X-Amz-Target"); target != "" {
		for _, rt := range r.routes {
			if strings.HasPrefix(target, rt.prefix) {
				rt.h.ServeHTTP(w, req)
				return
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"UnknownOperationException","message":"no local emulator serves this X-Amz-Target"}`))
		return
	}
	if r.Fallback != nil {
		r.Fallback.ServeHTTP(w, req)
		return
	}
	http.NotFound(w, req)
}
