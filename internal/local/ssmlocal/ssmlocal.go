// Package ssmlocal is a minimal in-memory AWS Systems Manager Parameter Store
// endpoint speaking the AWS JSON 1.1 protocol of the current SDK, for the
// local stack and the tests: GetParameter, GetParameters, PutParameter and
// DeleteParameter, with versions, "name:version" selectors and the errors the
// SDK decodes into its types (ssmtypes.ParameterNotFound, ...).
//
// It is checked against moto_server by a shared suite. Deliberately simpler
// than SSM: no labels, tags, policies, tiers beyond Standard, or parameter
// history API; a SecureString is sealed with a key that lives and dies with
// the Server (no KMS), so WithDecryption=false returns an opaque value.
package ssmlocal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults used when Options leaves a field empty.
const (
	DefaultAccountID = "000000000000"
	DefaultRegion    = "us-east-1"
)

const (
	targetPrefix    = "AmazonSSM."
	contentType     = "application/x-amz-json-1.1"
	maxRequestBytes = 1 << 20
	maxNameLength   = 2048
	maxValueBytes   = 4096 // the Standard tier's limit
	maxGetNames     = 10
)

// Parameter types SSM knows.
const (
	typeString       = "String"
	typeStringList   = "StringList"
	typeSecureString = "SecureString"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	AccountID string           // appears in parameter ARNs (default DefaultAccountID)
	Region    string           // appears in parameter ARNs (default DefaultRegion)
	Now       func() time.Time // LastModifiedDate clock (default time.Now)
}

// Server is an in-memory Parameter Store. It implements http.Handler and
// dispatches on the X-Amz-Target header only, whatever the path, so it can
// share a listener with other emulators. It is safe for concurrent use.
type Server struct {
	account, region string
	now             func() time.Time
	seal            cipher.AEAD // seals SecureString values shown without decryption

	mu     sync.Mutex
	params map[string][]version // by name; versions oldest first
}

type version struct {
	typ, value, dataType string
	modified             time.Time
}

// New returns an empty Server.
func New(o Options) *Server {
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key) // a 32-byte key cannot fail
	aead, _ := cipher.NewGCM(block)
	return &Server{account: o.AccountID, region: o.Region, now: o.Now, seal: aead, params: map[string][]version{}}
}

// apiError is an SSM error as AWS JSON 1.1 carries it: the SDK resolves
// "__type" to its error types by shape name.
type apiError struct {
	shape, message string
	status         int
}

func (e *apiError) Error() string { return e.shape + ": " + e.message }

func newError(shape, format string, args ...any) *apiError {
	return &apiError{shape: shape, message: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

func errNotFound(name string) *apiError {
	return newError("ParameterNotFound", "Parameter %s not found.", name)
}

func errValidation(format string, args ...any) *apiError {
	return newError("ValidationException", format, args...)
}

type handler func(s *Server, body []byte) (any, error)

// decode adapts a typed operation to a handler reading its JSON input.
func decode[In any](f func(*Server, *In) (any, error)) handler {
	return func(s *Server, body []byte) (any, error) {
		in := new(In)
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, newError("SerializationException", "ssmlocal: the request body is not valid JSON for this operation: %v", err)
			}
		}
		return f(s, in)
	}
}

var operations = map[string]handler{
	"GetParameter":    decode((*Server).getParameter),
	"GetParameters":   decode((*Server).getParameters),
	"PutParameter":    decode((*Server).putParameter),
	"DeleteParameter": decode((*Server).deleteParameter),
}

// ServeHTTP answers one SSM JSON 1.1 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, &apiError{shape: "UnsupportedOperation", message: "ssmlocal: SSM requests are POSTs, got " + r.Method, status: http.StatusMethodNotAllowed})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	h := operations[op]
	if !ok || h == nil {
		writeError(w, newError("UnknownOperationException", "ssmlocal: unsupported operation %q (served: GetParameter, GetParameters, PutParameter, DeleteParameter)", target))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, errValidation("ssmlocal: read request body: %v", err))
		return
	}
	out, err := h(s, body)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{shape: "InternalServerError", message: err.Error(), status: http.StatusInternalServerError}
		}
		writeError(w, ae)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]string{"__type": e.shape, "message": e.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"__type":"InternalServerError","message":"ssmlocal: encode response"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-RequestId", requestID())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// parameterJSON is the wire shape of ssmtypes.Parameter.
type parameterJSON struct {
	ARN              string  `json:"ARN"`
	DataType         string  `json:"DataType"`
	LastModifiedDate float64 `json:"LastModifiedDate"` // epoch seconds, as AWS JSON sends timestamps
	Name             string  `json:"Name"`
	Selector         string  `json:"Selector,omitempty"`
	Type             string  `json:"Type"`
	Value            string  `json:"Value"`
	Version          int64   `json:"Version"`
}

type getParameterInput struct {
	Name           string
	WithDecryption bool
}

func (s *Server) getParameter(in *getParameterInput) (any, error) {
	if in.Name == "" {
		return nil, errValidation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookup(in.Name, in.WithDecryption)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Parameter": p}, nil
}

type getParametersInput struct {
	Names          []string
	WithDecryption bool
}

func (s *Server) getParameters(in *getParametersInput) (any, error) {
	if len(in.Names) == 0 || len(in.Names) > maxGetNames {
		return nil, errValidation("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and %d", maxGetNames)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := []parameterJSON{}
	invalid := []string{}
	for _, name := range in.Names {
		p, err := s.lookup(name, in.WithDecryption)
		if err != nil {
			invalid = append(invalid, name)
			continue
		}
		found = append(found, p)
	}
	return map[string]any{"Parameters": found, "InvalidParameters": invalid}, nil
}

// lookup resolves "name" or "name:version"; s.mu is held.
func (s *Server) lookup(ref string, decrypt bool) (parameterJSON, error) {
	name, selector := ref, ""
	if i := strings.LastIndexByte(ref, ':'); i >= 0 {
		name, selector = ref[:i], ref[i:]
	}
	versions := s.params[name]
	if len(versions) == 0 {
		return parameterJSON{}, errNotFound(ref)
	}
	n := int64(len(versions))
	if selector != "" {
		v, err := strconv.ParseInt(selector[1:], 10, 64)
		if err != nil || v < 1 {
			return parameterJSON{}, newError("ParameterVersionLabelNotFound", "ssmlocal: selector %s is not a version number (labels are not supported)", selector)
		}
		if v > n {
			return parameterJSON{}, newError("ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", v, name)
		}
		n = v
	}
	v := versions[n-1]
	value := v.value
	if v.typ == typeSecureString && !decrypt {
		value = s.sealValue(value)
	}
	return parameterJSON{
		ARN: s.arn(name), DataType: v.dataType, Name: name, Selector: selector, Type: v.typ, Value: value, Version: n,
		LastModifiedDate: float64(v.modified.UnixMilli()) / 1000,
	}, nil
}

// sealValue stands in for SSM's KMS ciphertext: opaque, and different on
// every call, as the real one is.
func (s *Server) sealValue(v string) string {
	nonce := make([]byte, s.seal.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(s.seal.Seal(nonce, nonce, []byte(v), nil))
}

func (s *Server) arn(name string) string {
	return "arn:aws:ssm:" + s.region + ":" + s.account + ":parameter/" + strings.TrimPrefix(name, "/")
}

type putParameterInput struct {
	Name      string
	Value     *string
	Type      string
	Overwrite bool
	DataType  string
	Tier      string
}

func (s *Server) putParameter(in *putParameterInput) (any, error) {
	if err := validName(in.Name); err != nil {
		return nil, err
	}
	if in.Value == nil {
		return nil, errValidation("1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null")
	}
	if len(*in.Value) == 0 || len(*in.Value) > maxValueBytes {
		return nil, errValidation("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length between 1 and %d", maxValueBytes)
	}
	switch in.Type {
	case "", typeString, typeStringList, typeSecureString:
	default:
		return nil, newError("UnsupportedParameterType", "ssmlocal: unsupported parameter type %q (String, StringList or SecureString)", in.Type)
	}
	if in.Tier != "" && in.Tier != "Standard" {
		return nil, errValidation("ssmlocal: only the Standard tier is served, got %q", in.Tier)
	}
	dataType := in.DataType
	if dataType == "" {
		dataType = "text"
	}
	if dataType != "text" {
		return nil, errValidation("ssmlocal: only the text data type is served, got %q", dataType)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	versions := s.params[in.Name]
	typ := in.Type
	if len(versions) > 0 {
		if !in.Overwrite {
			return nil, newError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
		}
		if typ == "" {
			typ = versions[len(versions)-1].typ
		}
	} else if typ == "" {
		return nil, errValidation("A parameter type is required when you create a parameter.")
	}
	s.params[in.Name] = append(versions, version{typ: typ, value: *in.Value, dataType: dataType, modified: s.now()})
	return map[string]any{"Version": len(versions) + 1, "Tier": "Standard"}, nil
}

func validName(name string) error {
	switch {
	case name == "":
		return errValidation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	case len(name) > maxNameLength:
		return errValidation("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to %d", maxNameLength)
	case strings.ContainsRune(name, ':'):
		return errValidation("ssmlocal: parameter name %q must not contain ':' (it selects a version)", name)
	}
	lower := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") {
		return errValidation("No access to reserved parameter name: %s.", name)
	}
	return nil
}

type deleteParameterInput struct {
	Name string
}

func (s *Server) deleteParameter(in *deleteParameterInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.params[in.Name]; !ok {
		return nil, errNotFound(in.Name)
	}
	delete(s.params, in.Name)
	return struct{}{}, nil
}
