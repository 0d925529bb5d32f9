package sqslocal

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits from the SQS developer guide.
const (
	maxBatchEntries     = 10
	maxMessageBytes     = 1 << 20 // 1 MiB since 2025 (was 256 KiB): the default, the maximum and a batch's total
	maxDelaySeconds     = 900
	maxVisibilitySecs   = 12 * 60 * 60
	maxWaitSeconds      = 20
	maxReceiveBatch     = 10
	maxMessageAttrs     = 10
	minRetentionSeconds = 60
	maxRetentionSeconds = 14 * 24 * 60 * 60
	maxListQueues       = 1000
	purgeInterval       = 60 * time.Second // one PurgeQueue per queue per minute
)

var queueNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// settings are a queue's configurable attributes, in seconds and bytes.
type settings struct {
	VisibilityTimeout             int
	MessageRetentionPeriod        int
	ReceiveMessageWaitTimeSeconds int
	DelaySeconds                  int
	MaximumMessageSize            int
}

var defaultSettings = settings{
	VisibilityTimeout:             30,
	MessageRetentionPeriod:        4 * 24 * 60 * 60,
	ReceiveMessageWaitTimeSeconds: 0,
	DelaySeconds:                  0,
	MaximumMessageSize:            maxMessageBytes,
}

// intAttrs maps each numeric attribute to its field and allowed range.
var intAttrs = map[string]struct {
	field    func(*settings) *int
	min, max int
}{
	"VisibilityTimeout":             {func(s *settings) *int { return &s.VisibilityTimeout }, 0, maxVisibilitySecs},
	"MessageRetentionPeriod":        {func(s *settings) *int { return &s.MessageRetentionPeriod }, minRetentionSeconds, maxRetentionSeconds},
	"ReceiveMessageWaitTimeSeconds": {func(s *settings) *int { return &s.ReceiveMessageWaitTimeSeconds }, 0, maxWaitSeconds},
	"DelaySeconds":                  {func(s *settings) *int { return &s.DelaySeconds }, 0, maxDelaySeconds},
	"MaximumMessageSize":            {func(s *settings) *int { return &s.MaximumMessageSize }, 1024, maxMessageBytes},
}

// storedAttrs are accepted and echoed back but change nothing here.
var storedAttrs = map[string]bool{
	"Policy":                       true,
	"RedriveAllowPolicy":           true,
	"KmsMasterKeyId":               true,
	"KmsDataKeyReusePeriodSeconds": true,
	"SqsManagedSseEnabled":         true,
}

// fifoAttrs belong to FIFO queues, which sqslocal does not keep.
var fifoAttrs = map[string]bool{
	"FifoQueue":                 true,
	"ContentBasedDeduplication": true,
	"DeduplicationScope":        true,
	"FifoThroughputLimit":       true,
}

type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

type queue struct {
	name, arn string
	created   time.Time
	modified  time.Time
	settings  settings
	redrive   *redrivePolicy
	stored    map[string]string
	tags      map[string]string
	deleted   bool
	purgedAt  time.Time // the last PurgeQueue; zero if never

	msgs []*message          // send order; deleted ones are dropped by sweep
	byID map[string]*message // live messages
	wake chan struct{}       // closed (and replaced) when a message may have become receivable
}

func (s *Server) newQueue(name string, now time.Time) *queue {
	return &queue{
		name:     name,
		arn:      s.arnOf(name),
		created:  now,
		modified: now,
		settings: defaultSettings,
		stored:   map[string]string{"SqsManagedSseEnabled": "true"},
		tags:     map[string]string{},
		byID:     map[string]*message{},
		wake:     make(chan struct{}),
	}
}

func (s *Server) arnOf(name string) string {
	return "arn:" + partition(s.region) + ":sqs:" + s.region + ":" + s.account + ":" + name
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

func (s *Server) queueURL(c *call, q *queue) string {
	return c.base + "/" + s.account + "/" + q.name
}

// signal wakes every long poll waiting on q.
func (q *queue) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// lookup finds the queue a QueueUrl names: by its last path segment, and by
// the account segment before it when there is one. The host is ignored, so
// URLs keep working behind any listener. A bare name is accepted too.
func (s *Server) lookup(queueURL *string) (*queue, error) {
	if queueURL == nil || *queueURL == "" {
		return nil, errMissingParameter("QueueUrl")
	}
	path := *queueURL
	if strings.Contains(path, "://") {
		u, err := url.Parse(path)
		if err != nil {
			return nil, errQueueDoesNotExist()
		}
		path = u.Path
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	name := segs[len(segs)-1]
	if len(segs) >= 2 && segs[len(segs)-2] != s.account {
		return nil, errQueueDoesNotExist()
	}
	q := s.queues[name]
	if q == nil {
		return nil, errQueueDoesNotExist()
	}
	return q, nil
}

// queueByARN returns the queue an ARN names, or nil.
func (s *Server) queueByARN(arn string) *queue {
	i := strings.LastIndexByte(arn, ':')
	if i < 0 {
		return nil
	}
	q := s.queues[arn[i+1:]]
	if q == nil || q.arn != arn {
		return nil
	}
	return q
}

// sourcesOf returns the queues whose redrive policy targets q, by name.
func (s *Server) sourcesOf(q *queue) []*queue {
	var out []*queue
	for _, src := range s.queues {
		if src.redrive != nil && src.redrive.DeadLetterTargetArn == q.arn {
			out = append(out, src)
		}
	}
	slices.SortFunc(out, func(a, b *queue) int { return strings.Compare(a.name, b.name) })
	return out
}

// configure validates attrs against q's current configuration and applies
// them only if every one is valid.
func (s *Server) configure(q *queue, attrs map[string]string, now time.Time) error {
	next := q.settings
	redrive, redriveSet := q.redrive, false
	stored := maps.Clone(q.stored)
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		value := attrs[name]
		switch {
		case intAttrs[name].field != nil:
			spec := intAttrs[name]
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < spec.min || n > spec.max {
				return errInvalidAttributeValue(name)
			}
			*spec.field(&next) = n
		case name == "RedrivePolicy":
			p, err := s.parseRedrive(value)
			if err != nil {
				return err
			}
			redrive, redriveSet = p, true
		case name == "FifoQueue":
			if !strings.EqualFold(value, "false") {
				return errInvalidParameter("sqslocal: FIFO queues are not supported; create a standard queue")
			}
		case storedAttrs[name]:
			stored[name] = value
		default: // unknown, read-only (QueueArn, counts, timestamps) or FIFO-only
			return errInvalidAttributeName(name)
		}
	}
	q.settings = next
	if redriveSet {
		q.redrive = redrive
	}
	q.stored = stored
	q.modified = now
	return nil
}

// parseRedrive accepts maxReceiveCount as a number or a string, as AWS does.
// An empty policy ("" or "{}") removes the redrive.
func (s *Server) parseRedrive(value string) (*redrivePolicy, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		return nil, errInvalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.", value)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	arn, _ := raw["deadLetterTargetArn"].(string)
	if arn == "" {
		return nil, errInvalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain deadLetterTargetArn.", value)
	}
	var count int
	switch v := raw["maxReceiveCount"].(type) {
	case float64:
		count = int(v)
		if float64(count) != v {
			count = 0
		}
	case string:
		count, _ = strconv.Atoi(v)
	}
	if count < 1 || count > 1000 {
		return nil, errInvalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: %v, valid values are from 1 to 1000 both inclusive.", value, raw["maxReceiveCount"])
	}
	if s.queueByARN(arn) == nil {
		return nil, errInvalidParameter("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.", value)
	}
	return &redrivePolicy{DeadLetterTargetArn: arn, MaxReceiveCount: count}, nil
}

// attribute returns one queue attribute as GetQueueAttributes reports it.
func (q *queue) attribute(name string, c counts) (string, bool) {
	if spec, ok := intAttrs[name]; ok {
		return strconv.Itoa(*spec.field(&q.settings)), true
	}
	switch name {
	case "ApproximateNumberOfMessages":
		return strconv.Itoa(c.visible), true
	case "ApproximateNumberOfMessagesNotVisible":
		return strconv.Itoa(c.inFlight), true
	case "ApproximateNumberOfMessagesDelayed":
		return strconv.Itoa(c.delayed), true
	case "CreatedTimestamp":
		return strconv.FormatInt(q.created.Unix(), 10), true
	case "LastModifiedTimestamp":
		return strconv.FormatInt(q.modified.Unix(), 10), true
	case "QueueArn":
		return q.arn, true
	case "RedrivePolicy":
		if q.redrive == nil {
			return "", false
		}
		b, _ := json.Marshal(q.redrive)
		return string(b), true
	}
	v, ok := q.stored[name]
	return v, ok
}

// allAttributes lists what "All" returns for a standard queue.
var allAttributes = []string{
	"QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
	"VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod", "DelaySeconds",
	"ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "RedriveAllowPolicy", "Policy",
	"KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
}

type counts struct{ visible, inFlight, delayed int }

// counts sweeps q and tallies its messages by state.
func (q *queue) counts(now time.Time) counts {
	q.sweep(now)
	var c counts
	for _, m := range q.msgs {
		switch {
		case !now.Before(m.visibleAt):
			c.visible++
		case m.receives == 0:
			c.delayed++
		default:
			c.inFlight++
		}
	}
	return c
}

func (q *queue) retention() time.Duration {
	return time.Duration(q.settings.MessageRetentionPeriod) * time.Second
}

func (q *queue) expired(m *message, now time.Time) bool {
	return !now.Before(m.sent.Add(q.retention()))
}

// sweep drops deleted and expired messages.
func (q *queue) sweep(now time.Time) {
	keep := q.msgs[:0]
	for _, m := range q.msgs {
		if m.deleted {
			continue
		}
		if q.expired(m, now) {
			m.deleted = true
			delete(q.byID, m.id)
			continue
		}
		keep = append(keep, m)
	}
	clear(q.msgs[len(keep):])
	q.msgs = keep
}

func (q *queue) add(m *message) {
	q.msgs = append(q.msgs, m)
	q.byID[m.id] = m
	q.signal()
}

func (q *queue) remove(m *message) {
	m.deleted = true
	delete(q.byID, m.id)
}

// --- operations on queues ---

type createQueueInput struct {
	QueueName  *string
	Attributes map[string]string
	Tags       map[string]string `json:"tags"`
}

type queueURLOutput struct {
	QueueUrl string
}

func (s *Server) createQueue(c *call, in *createQueueInput) (any, error) {
	if in.QueueName == nil || *in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	name := *in.QueueName
	if strings.HasSuffix(name, ".fifo") {
		return nil, errInvalidParameter("sqslocal: FIFO queues are not supported (queue name %s)", name)
	}
	if !queueNameRE.MatchString(name) {
		return nil, errInvalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	fresh := s.newQueue(name, now)
	if err := s.configure(fresh, in.Attributes, now); err != nil {
		return nil, err
	}
	if existing := s.queues[name]; existing != nil {
		// Idempotent: only the attributes given must match.
		var none counts
		for attr := range in.Attributes {
			a, _ := existing.attribute(attr, none)
			b, _ := fresh.attribute(attr, none)
			if a != b {
				return nil, errQueueNameExists(name)
			}
		}
		return queueURLOutput{QueueUrl: s.queueURL(c, existing)}, nil
	}
	maps.Copy(fresh.tags, in.Tags)
	s.queues[name] = fresh
	return queueURLOutput{QueueUrl: s.queueURL(c, fresh)}, nil
}

type getQueueURLInput struct {
	QueueName              *string
	QueueOwnerAWSAccountId *string
}

func (s *Server) getQueueURL(c *call, in *getQueueURLInput) (any, error) {
	if in.QueueName == nil || *in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[*in.QueueName]
	if q == nil || (in.QueueOwnerAWSAccountId != nil && *in.QueueOwnerAWSAccountId != s.account) {
		return nil, errQueueDoesNotExist()
	}
	return queueURLOutput{QueueUrl: s.queueURL(c, q)}, nil
}

type listInput struct {
	QueueUrl        *string
	QueueNamePrefix string
	MaxResults      *int
	NextToken       *string
}

type listQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty"`
	NextToken string   `json:"NextToken,omitempty"`
}

type listSourcesOutput struct {
	QueueUrls []string `json:"queueUrls"`
	NextToken string   `json:"NextToken,omitempty"`
}

// page cuts sorted names after the token's name. Tokens are opaque to
// clients: the base64 of the last name returned.
func page(names []string, maxResults *int, token *string) ([]string, string, error) {
	if token != nil && *token != "" {
		last, err := base64.RawURLEncoding.DecodeString(*token)
		if err != nil {
			return nil, "", errInvalidParameter("Invalid NextToken value.")
		}
		i, _ := slices.BinarySearch(names, string(last))
		if i < len(names) && names[i] == string(last) {
			i++
		}
		names = names[i:]
	}
	limit := maxListQueues
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > maxListQueues {
			return nil, "", errInvalidParameter("Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", *maxResults)
		}
		limit = *maxResults
	}
	if len(names) <= limit {
		return names, "", nil
	}
	names = names[:limit]
	next := ""
	if maxResults != nil {
		next = base64.RawURLEncoding.EncodeToString([]byte(names[len(names)-1]))
	}
	return names, next, nil
}

func (s *Server) listQueues(c *call, in *listInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name := range s.queues {
		if strings.HasPrefix(name, in.QueueNamePrefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	names, next, err := page(names, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := listQueuesOutput{NextToken: next}
	for _, name := range names {
		out.QueueUrls = append(out.QueueUrls, s.queueURL(c, s.queues[name]))
	}
	return out, nil
}

func (s *Server) listDeadLetterSourceQueues(c *call, in *listInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, src := range s.sourcesOf(q) {
		names = append(names, src.name)
	}
	names, next, err := page(names, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := listSourcesOutput{QueueUrls: []string{}, NextToken: next}
	for _, name := range names {
		out.QueueUrls = append(out.QueueUrls, s.queueURL(c, s.queues[name]))
	}
	return out, nil
}

type queueURLInput struct {
	QueueUrl *string
}

func (s *Server) deleteQueue(c *call, in *queueURLInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	delete(s.queues, q.name)
	q.deleted = true
	q.signal()
	return nil, nil
}

func (s *Server) purgeQueue(c *call, in *queueURLInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !q.purgedAt.IsZero() && now.Sub(q.purgedAt) < purgeInterval {
		return nil, errPurgeInProgress(q.name)
	}
	q.purgedAt = now
	for _, m := range q.msgs {
		q.remove(m)
	}
	q.msgs = nil
	return nil, nil
}

type getQueueAttributesInput struct {
	QueueUrl       *string
	AttributeNames []string
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty"`
}

func (s *Server) getQueueAttributes(c *call, in *getQueueAttributesInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	names := in.AttributeNames
	for _, name := range names {
		if name == "All" {
			names = allAttributes
			break
		}
		if !slices.Contains(allAttributes, name) && !fifoAttrs[name] {
			return nil, errInvalidAttributeName(name)
		}
	}
	c2 := q.counts(s.now())
	out := attributesOutput{Attributes: map[string]string{}}
	for _, name := range names {
		if v, ok := q.attribute(name, c2); ok {
			out.Attributes[name] = v
		}
	}
	return out, nil
}

type setQueueAttributesInput struct {
	QueueUrl   *string
	Attributes map[string]string
}

func (s *Server) setQueueAttributes(c *call, in *setQueueAttributesInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.Attributes) == 0 {
		return nil, errMissingParameter("Attributes")
	}
	return nil, s.configure(q, in.Attributes, s.now())
}

type tagQueueInput struct {
	QueueUrl *string
	Tags     map[string]string
	TagKeys  []string
}

type tagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty"`
}

func (s *Server) tagQueue(c *call, in *tagQueueInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, errMissingParameter("Tags")
	}
	maps.Copy(q.tags, in.Tags)
	return nil, nil
}

func (s *Server) untagQueue(c *call, in *tagQueueInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(q.tags, k)
	}
	return nil, nil
}

func (s *Server) listQueueTags(c *call, in *queueURLInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return tagsOutput{Tags: maps.Clone(q.tags)}, nil
}
