// Package awsfake is what the fakes of AWS services (sesfake, snsfake,
// smsvoicefake) share: the SigV4 check of a request and AWS's request ids.
package awsfake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cogmail/cogmail/pkg/provider/internal/fakehttp"
)

// Authenticate checks r's SigV4 Authorization header, and its signature
// over body when creds is set. It returns the signing region (region when
// the header names none), or the AWS error code and message to answer
// with 403: MissingAuthenticationTokenException, IncompleteSignatureException,
// UnrecognizedClientException (another access key id) or
// SignatureDoesNotMatch.
func Authenticate(r *http.Request, body []byte, creds *aws.Credentials, region string) (signed, code, msg string) {
	signed = region
	auth := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(auth, " ")
	if scheme != "AWS4-HMAC-SHA256" {
		return signed, "MissingAuthenticationTokenException", ""
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 || params["SignedHeaders"] == "" || params["Signature"] == "" {
		return signed, "IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature."
	}
	signed = scope[2]
	if creds == nil {
		return signed, "", ""
	}
	if scope[0] != creds.AccessKeyID {
		return signed, "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return signed, "IncompleteSignatureException", "X-Amz-Date is missing or malformed."
	}
	// Re-sign a copy of the request carrying only the signed headers.
	cp, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return signed, "IncompleteSignatureException", ""
	}
	cp.ContentLength = r.ContentLength
	for _, h := range strings.Split(params["SignedHeaders"], ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		cp.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), *creds, cp, hex.EncodeToString(sum[:]), scope[3], scope[2], when)
	if err != nil || !strings.HasSuffix(cp.Header.Get("Authorization"), "Signature="+params["Signature"]) {
		return signed, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	return signed, "", ""
}

// RequestID returns a random id in AWS's request id form (a UUID).
func RequestID() string {
	id := fakehttp.ID(16)
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}
