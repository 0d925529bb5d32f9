// Package kmslocal runs local-kms (github.com/nsmithuk/local-kms), a KMS
// emulator, inside the current process on 127.0.0.1, for tests and the local
// stack. It is never imported by the Lambda functions: local-kms pulls in
// aws-sdk-go v1.
//
// local-kms keeps its account, region and data path in package variables, so
// one process hosts one account and region: Start refuses a second account or
// region while a server for another is open. Servers for the same account and
// region may run side by side; each has its own store in a temporary
// directory that Close removes.
//
// local-kms logs every request to stderr through a logger of its own that
// cannot be redirected from outside (short of re-implementing its request
// dispatch); go test shows it only for failing packages or with -v.
package kmslocal

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	lkms "github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/cmk"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"

	"github.com/cogmail/cogmail/pkg/awsclient"
)

// Defaults for Options.
const (
	DefaultAccountID = "111122223333"
	DefaultRegion    = "us-east-1"
	// DefaultAlias names the key generated when Options.Seed is empty.
	DefaultAlias = "alias/cogmail-codes"
)

// Options configure a server. The zero value is valid.
type Options struct {
	AccountID string // default DefaultAccountID
	Region    string // default DefaultRegion
	// Seed is a local-kms seed file (YAML): symmetric AES keys under
	// Keys.Symmetric.Aes and Aliases, as in testdata/cognito/local-kms-seed.yaml.
	// Other key types and the legacy format are rejected. When empty, one
	// random AES-256 key is created with the alias DefaultAlias.
	Seed []byte
	// Log receives local-kms's own request log (process-wide); nil discards it.
	Log io.Writer
}

// Server is one local-kms store and, when made by Start, a listener on
// 127.0.0.1 that serves it.
type Server struct {
	// URL is the listener's base URL ("http://127.0.0.1:PORT"), for a KMS
	// client's BaseEndpoint. It is empty for a server made by New.
	URL string

	account, region string
	dir             string
	keyARNs         []string
	http            *httptest.Server

	mu     sync.RWMutex // held for reading by every request; Close takes it to drain them
	db     *data.Database
	closed bool
}

// process guards local-kms's package variables (config.AWSAccountId,
// config.AWSRegion, config.DatabasePath): they are written only while no
// server is open, so no request ever sees them change.
var process struct {
	sync.Mutex
	open            int
	account, region string
}

func acquire(account, region, dir string) error {
	process.Lock()
	defer process.Unlock()
	if process.open > 0 && (process.account != account || process.region != region) {
		return fmt.Errorf("kmslocal: this process already serves account %s in %s; local-kms keeps them in package variables, so one process hosts one account and region (asked for %s in %s)",
			process.account, process.region, account, region)
	}
	if process.open == 0 {
		config.AWSAccountId, config.AWSRegion = account, region
		process.account, process.region = account, region
	}
	// Only local-kms's own main reads DatabasePath; set it for completeness.
	config.DatabasePath = dir
	process.open++
	return nil
}

func release() {
	process.Lock()
	defer process.Unlock()
	process.open--
}

// New opens a store in a temporary directory and seeds it, without a
// listener: mount Handler on a listener of your own.
func New(o Options) (*Server, error) {
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if !accountPattern(o.AccountID) {
		return nil, fmt.Errorf("kmslocal: account id %q is not 12 digits", o.AccountID)
	}
	if !regionPattern(o.Region) {
		return nil, fmt.Errorf("kmslocal: region %q is not a region name", o.Region)
	}
	dir, err := os.MkdirTemp("", "cogmail-kmslocal-")
	if err != nil {
		return nil, fmt.Errorf("kmslocal: %w", err)
	}
	if err := acquire(o.AccountID, o.Region, dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	SetLogOutput(o.Log)
	s := &Server{account: o.AccountID, region: o.Region, dir: dir}
	if err := s.open(o.Seed); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

// Start is New plus a listener on 127.0.0.1 (a free port) serving Handler.
func Start(o Options) (*Server, error) {
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("kmslocal: listen: %w", err)
	}
	s.http = &httptest.Server{Listener: ln, Config: &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	s.http.Start()
	s.URL = s.http.URL
	return s, nil
}

func (s *Server) open(seed []byte) (err error) {
	// data.NewDatabase panics when LevelDB cannot open the directory.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kmslocal: open store in %s: %v", s.dir, r)
		}
	}()
	s.db = data.NewDatabase(s.dir)
	var sd *seedData
	if len(seed) == 0 {
		sd, err = randomSeed(s.account, s.region)
	} else {
		sd, err = parseSeed(seed, s.account, s.region)
	}
	if err != nil {
		return err
	}
	for _, k := range sd.keys {
		if err := s.db.SaveKey(k); err != nil {
			return fmt.Errorf("kmslocal: save key %s: %w", k.Metadata.KeyId, err)
		}
		s.keyARNs = append(s.keyARNs, k.Metadata.Arn)
	}
	for i := range sd.aliases {
		if err := s.db.SaveAlias(&sd.aliases[i]); err != nil {
			return fmt.Errorf("kmslocal: save alias %s: %w", sd.aliases[i].AliasName, err)
		}
	}
	return nil
}

// Handler serves the KMS API (JSON 1.1 over POST /, the operation named by
// the X-Amz-Target header). On a shared listener, route the requests for
// which IsKMSRequest is true to it. After Close it answers 503.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			http.Error(w, "kmslocal: closed", http.StatusServiceUnavailable)
			return
		}
		lkms.HandleRequest(w, r, s.db)
	})
}

// IsKMSRequest reports whether r is a KMS API call (X-Amz-Target: TrentService.*).
func IsKMSRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
}

// KeyARNs lists the ARNs of the seeded keys, in seed order.
func (s *Server) KeyARNs() []string { return append([]string(nil), s.keyARNs...) }

// KeyARN is the first seeded key's ARN (the generated key's when there was no seed).
func (s *Server) KeyARN() string {
	if len(s.keyARNs) == 0 {
		return ""
	}
	return s.keyARNs[0]
}

// AccountID and Region are the account and region the server answers for.
func (s *Server) AccountID() string { return s.account }
func (s *Server) Region() string    { return s.region }

// Client returns a KMS client for this server (BaseEndpoint = URL, static
// test credentials). optFns adjust it, e.g. to limit retries.
func (s *Server) Client(optFns ...func(*kms.Options)) *kms.Client {
	cfg := awsclient.Config(s.region, credentials.NewStaticCredentialsProvider("AKIDLOCALKMS", "local-kms-secret", ""))
	return kms.NewFromConfig(cfg, append([]func(*kms.Options){func(o *kms.Options) { o.BaseEndpoint = aws.String(s.URL) }}, optFns...)...)
}

// Close stops the listener, waits for requests in flight, closes the store
// and removes its directory. It is safe to call more than once.
func (s *Server) Close() error {
	if s.http != nil {
		s.http.Close()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	return s.cleanup()
}

func (s *Server) cleanup() error {
	if s.db != nil {
		s.db.Close()
	}
	release()
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("kmslocal: remove store: %w", err)
	}
	return nil
}

// randomSeed makes one AES key the way local-kms's CreateKey does, aliased DefaultAlias.
func randomSeed(account, region string) (*seedData, error) {
	id, err := uuid4()
	if err != nil {
		return nil, fmt.Errorf("kmslocal: key id: %w", err)
	}
	prefix := arnPrefix(account, region)
	md := cmk.KeyMetadata{
		Arn:          prefix + "key/" + id,
		KeyId:        id,
		AWSAccountId: account,
		CreationDate: time.Now().Unix(),
		Enabled:      true,
		KeyManager:   "CUSTOMER",
		KeyState:     cmk.KeyStateEnabled,
		Origin:       cmk.KeyOriginAwsKms,
	}
	key := cmk.NewAesKey(md, defaultPolicy(account), cmk.KeyOriginAwsKms)
	return &seedData{
		keys:    []*cmk.AesKey{key},
		aliases: []data.Alias{{AliasArn: prefix + DefaultAlias, AliasName: DefaultAlias, TargetKeyId: id}},
	}, nil
}

// defaultPolicy is local-kms's CreateKey default.
func defaultPolicy(account string) string {
	return fmt.Sprintf(`{"Id":"key-default-policy","Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"kms:*","Resource":"*"}]}`, account)
}

func uuid4() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

func accountPattern(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func regionPattern(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(s) > 32 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for _, c := range p {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
