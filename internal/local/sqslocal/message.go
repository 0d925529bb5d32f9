package sqslocal

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// attrValue is a message attribute as the JSON protocol carries it; binary
// values travel as base64, which encoding/json does for []byte.
type attrValue struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

type message struct {
	id      string
	body    string
	attrs   map[string]attrValue // never modified after send
	system  map[string]attrValue // AWSTraceHeader, the only settable one
	groupID string

	md5Body, md5Attrs, md5System string

	sent             time.Time // kept when redriven to a DLQ, so retention counts from here
	visibleAt        time.Time // delay end, or end of the current visibility timeout
	receives         int
	firstReceive     time.Time
	received         time.Time // when the current receipt handle was issued
	receipt          string    // current receipt handle; older ones no longer act
	deadLetterSource string    // ARN of the queue that redrove it here
	deleted          bool
}

var (
	attrNameRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)
	numberRE    = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)
	batchIDRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	allowedText = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
)

// badRune returns the first character SQS does not accept in a message.
func badRune(s string) (rune, bool) {
	for _, r := range s {
		if r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF) {
			continue
		}
		return r, true
	}
	return 0, false
}

// checkAttributes validates message attributes and returns the bytes they
// count towards the message size (names, types and values).
func checkAttributes(attrs map[string]attrValue) (int, error) {
	if len(attrs) > maxMessageAttrs {
		return 0, errInvalidParameter("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), maxMessageAttrs)
	}
	size := 0
	for name, v := range attrs {
		lower := strings.ToLower(name)
		if !attrNameRE.MatchString(name) || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") ||
			strings.Contains(name, "..") || strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
			return 0, errInvalidParameter("The message attribute name '%s' is invalid. Attribute name can contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters.", name)
		}
		base, _, _ := strings.Cut(v.DataType, ".")
		switch base {
		case "String", "Number":
			if v.StringValue == nil || *v.StringValue == "" {
				return 0, errInvalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, v.DataType)
			}
			if r, bad := badRune(*v.StringValue); bad {
				return 0, errInvalidParameter("The message attribute '%s' contains the invalid character '#x%X'; allowed are %s.", name, r, allowedText)
			}
			if base == "Number" && !numberRE.MatchString(*v.StringValue) {
				return 0, errInvalidParameter("Can't cast the value of message (user) attribute '%s' to a number.", name)
			}
			size += len(*v.StringValue)
		case "Binary":
			if len(v.BinaryValue) == 0 {
				return 0, errInvalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, v.DataType)
			}
			size += len(v.BinaryValue)
		default:
			return 0, errInvalidParameter("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		}
		size += len(name) + len(v.DataType)
	}
	return size, nil
}

// attributesMD5 is MD5OfMessageAttributes as AWS computes it: for each
// attribute in name order, the length-prefixed name and data type, then a
// transport byte (1 string, 2 binary, 3 string list, 4 binary list) and the
// length-prefixed value(s). Lengths are 4-byte big-endian.
func attributesMD5(attrs map[string]attrValue) string {
	if len(attrs) == 0 {
		return ""
	}
	h := md5.New()
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[name]
		writeLV(h, []byte(name))
		writeLV(h, []byte(v.DataType))
		switch {
		case v.StringValue != nil:
			h.Write([]byte{1})
			writeLV(h, []byte(*v.StringValue))
		case v.BinaryValue != nil:
			h.Write([]byte{2})
			writeLV(h, v.BinaryValue)
		case len(v.StringListValues) > 0:
			h.Write([]byte{3})
			for _, s := range v.StringListValues {
				writeLV(h, []byte(s))
			}
		case len(v.BinaryListValues) > 0:
			h.Write([]byte{4})
			for _, b := range v.BinaryListValues {
				writeLV(h, b)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeLV(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}

func bodyMD5(body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:])
}

// newReceipt returns a fresh receipt handle naming the queue and message, so
// a handle of a message that was received again can be told from garbage.
func newReceipt(queue, id string) string {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	return base64.RawURLEncoding.EncodeToString([]byte(queue + "/" + id + "/" + hex.EncodeToString(nonce[:])))
}

func parseReceipt(handle string) (queue, id string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil {
		return "", "", false
	}
	parts := strings.Split(string(raw), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// byReceipt resolves a receipt handle of q. A well-formed handle that is no
// longer current (the message was deleted, redriven or received again)
// yields a nil message and no error.
func (q *queue) byReceipt(handle *string) (*message, error) {
	if handle == nil || *handle == "" {
		return nil, errMissingParameter("ReceiptHandle")
	}
	name, id, ok := parseReceipt(*handle)
	if !ok || name != q.name {
		return nil, errReceiptHandleInvalid(*handle)
	}
	m := q.byID[id]
	if m == nil || m.receipt != *handle {
		return nil, nil
	}
	return m, nil
}

// --- sending ---

type sendEntry struct {
	Id                      *string
	MessageBody             *string
	DelaySeconds            *int
	MessageAttributes       map[string]attrValue
	MessageSystemAttributes map[string]attrValue
	MessageDeduplicationId  *string
	MessageGroupId          *string
}

// newMessage validates one message for q.
func (s *Server) newMessage(q *queue, e *sendEntry, now time.Time) (*message, error) {
	if e.MessageBody == nil || *e.MessageBody == "" {
		return nil, errMissingParameter("MessageBody")
	}
	body := *e.MessageBody
	if r, bad := badRune(body); bad {
		return nil, errInvalidMessageContents("Invalid binary character '#x%X' was found in the message body, the set of allowed characters is %s", r, allowedText)
	}
	delay := q.settings.DelaySeconds
	if e.DelaySeconds != nil {
		delay = *e.DelaySeconds
		if delay < 0 || delay > maxDelaySeconds {
			return nil, errInvalidParameter("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= %d.", delay, maxDelaySeconds)
		}
	}
	if e.MessageDeduplicationId != nil {
		return nil, errInvalidParameter("Value %s for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter that is not valid for this queue type.", *e.MessageDeduplicationId)
	}
	size, err := checkAttributes(e.MessageAttributes)
	if err != nil {
		return nil, err
	}
	for name, v := range e.MessageSystemAttributes {
		if name != "AWSTraceHeader" || v.DataType != "String" || v.StringValue == nil || *v.StringValue == "" {
			return nil, errInvalidParameter("Message system attribute %s is invalid: only AWSTraceHeader with a non-empty String value is supported.", name)
		}
	}
	if size += len(body); size > q.settings.MaximumMessageSize {
		return nil, errInvalidParameter("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", q.settings.MaximumMessageSize)
	}
	m := &message{
		id:        newID(),
		body:      body,
		attrs:     maps.Clone(e.MessageAttributes),
		system:    maps.Clone(e.MessageSystemAttributes),
		md5Body:   bodyMD5(body),
		sent:      now,
		visibleAt: now.Add(time.Duration(delay) * time.Second),
	}
	if e.MessageGroupId != nil {
		m.groupID = *e.MessageGroupId
	}
	m.md5Attrs = attributesMD5(m.attrs)
	m.md5System = attributesMD5(m.system)
	return m, nil
}

type sendMessageInput struct {
	QueueUrl *string
	sendEntry
}

type sendResult struct {
	Id                           string `json:"Id,omitempty"`
	MessageId                    string
	MD5OfMessageBody             string
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
}

func resultOf(id string, m *message) sendResult {
	return sendResult{Id: id, MessageId: m.id, MD5OfMessageBody: m.md5Body, MD5OfMessageAttributes: m.md5Attrs, MD5OfMessageSystemAttributes: m.md5System}
}

func (s *Server) sendMessage(c *call, in *sendMessageInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	m, err := s.newMessage(q, &in.sendEntry, s.now())
	if err != nil {
		return nil, err
	}
	q.add(m)
	return resultOf("", m), nil
}

type batchError struct {
	Id          string
	SenderFault bool
	Code        string
	Message     string
}

func failure(id string, err error) batchError {
	e, _ := err.(*apiError)
	if e == nil {
		e = &apiError{query: "InternalError", message: err.Error()}
	}
	return batchError{Id: id, SenderFault: true, Code: e.query, Message: e.message}
}

// checkBatch applies the whole-request batch rules: 1 to 10 entries, each
// with a distinct, well-formed id.
func checkBatch(kind string, ids []*string) error {
	if len(ids) == 0 {
		return errEmptyBatch(kind)
	}
	if len(ids) > maxBatchEntries {
		return errTooManyEntries(len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == nil || !batchIDRE.MatchString(*id) {
			return errInvalidBatchEntryID(deref(id))
		}
		if seen[*id] {
			return errBatchIDsNotDistinct(*id)
		}
		seen[*id] = true
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type sendMessageBatchInput struct {
	QueueUrl *string
	Entries  []sendEntry
}

type sendBatchOutput struct {
	Successful []sendResult
	Failed     []batchError
}

func (s *Server) sendMessageBatch(c *call, in *sendMessageBatchInput) (any, error) {
	ids := make([]*string, len(in.Entries))
	total := 0
	for i := range in.Entries {
		e := &in.Entries[i]
		ids[i] = e.Id
		total += len(deref(e.MessageBody))
		for name, v := range e.MessageAttributes {
			total += len(name) + len(v.DataType) + len(deref(v.StringValue)) + len(v.BinaryValue)
		}
	}
	if err := checkBatch("SendMessageBatch", ids); err != nil {
		return nil, err
	}
	if total > maxMessageBytes {
		return nil, errBatchTooLong(total)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := sendBatchOutput{Successful: []sendResult{}, Failed: []batchError{}}
	for i := range in.Entries {
		e := &in.Entries[i]
		m, err := s.newMessage(q, e, now)
		if err != nil {
			out.Failed = append(out.Failed, failure(*e.Id, err))
			continue
		}
		q.add(m)
		out.Successful = append(out.Successful, resultOf(*e.Id, m))
	}
	return out, nil
}

// --- receiving ---

type receiveMessageInput struct {
	QueueUrl                    *string
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	ReceiveRequestAttemptId     *string
}

type messageOut struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string    `json:"Attributes,omitempty"`
	MD5OfMessageAttributes string               `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]attrValue `json:"MessageAttributes,omitempty"`
}

type receiveOutput struct {
	Messages []messageOut `json:"Messages,omitempty"`
}

// selection is what a ReceiveMessage asked to see of each message.
type selection struct {
	allSystem bool
	system    map[string]bool
	allAttrs  bool
	names     map[string]bool
	prefixes  []string
}

func newSelection(in *receiveMessageInput) selection {
	sel := selection{system: map[string]bool{}, names: map[string]bool{}}
	// AttributeNames is the deprecated spelling of MessageSystemAttributeNames.
	for _, n := range slices.Concat(in.AttributeNames, in.MessageSystemAttributeNames) {
		if n == "All" {
			sel.allSystem = true
		}
		sel.system[n] = true
	}
	for _, n := range in.MessageAttributeNames {
		switch {
		case n == "All" || n == ".*":
			sel.allAttrs = true
		case strings.HasSuffix(n, ".*"):
			sel.prefixes = append(sel.prefixes, strings.TrimSuffix(n, "*"))
		default:
			sel.names[n] = true
		}
	}
	return sel
}

func (sel selection) wantsAttr(name string) bool {
	if sel.allAttrs || sel.names[name] {
		return true
	}
	for _, p := range sel.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (sel selection) render(m *message, sender string) messageOut {
	out := messageOut{MessageId: m.id, ReceiptHandle: m.receipt, MD5OfBody: m.md5Body, Body: m.body}
	attrs := make(map[string]attrValue, len(m.attrs))
	for name, v := range m.attrs {
		if sel.wantsAttr(name) {
			attrs[name] = v
		}
	}
	if len(attrs) > 0 {
		out.MessageAttributes = attrs
		out.MD5OfMessageAttributes = m.md5Attrs
		if len(attrs) != len(m.attrs) {
			out.MD5OfMessageAttributes = attributesMD5(attrs)
		}
	}
	want := func(n string) bool { return sel.allSystem || sel.system[n] }
	sys := map[string]string{}
	if want("SenderId") {
		sys["SenderId"] = sender
	}
	if want("SentTimestamp") {
		sys["SentTimestamp"] = strconv.FormatInt(m.sent.UnixMilli(), 10)
	}
	if want("ApproximateReceiveCount") {
		sys["ApproximateReceiveCount"] = strconv.Itoa(m.receives)
	}
	if want("ApproximateFirstReceiveTimestamp") {
		sys["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(m.firstReceive.UnixMilli(), 10)
	}
	if v, ok := m.system["AWSTraceHeader"]; ok && want("AWSTraceHeader") {
		sys["AWSTraceHeader"] = deref(v.StringValue)
	}
	if m.deadLetterSource != "" && want("DeadLetterQueueSourceArn") {
		sys["DeadLetterQueueSourceArn"] = m.deadLetterSource
	}
	if m.groupID != "" && want("MessageGroupId") {
		sys["MessageGroupId"] = m.groupID
	}
	if len(sys) > 0 {
		out.Attributes = sys
	}
	return out
}

func (s *Server) receiveMessage(c *call, in *receiveMessageInput) (any, error) {
	limit := 1
	if in.MaxNumberOfMessages != nil {
		limit = *in.MaxNumberOfMessages
		if limit < 1 || limit > maxReceiveBatch {
			return nil, errInvalidParameter("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and %d, if provided.", limit, maxReceiveBatch)
		}
	}
	s.mu.Lock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	wait, vt := q.settings.ReceiveMessageWaitTimeSeconds, q.settings.VisibilityTimeout
	s.mu.Unlock()
	if in.WaitTimeSeconds != nil {
		if wait = *in.WaitTimeSeconds; wait < 0 || wait > maxWaitSeconds {
			return nil, errInvalidParameter("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= %d, if provided.", wait, maxWaitSeconds)
		}
	}
	if in.VisibilityTimeout != nil {
		if vt = *in.VisibilityTimeout; vt < 0 || vt > maxVisibilitySecs {
			return nil, errInvalidParameter("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= %d, if provided.", vt, maxVisibilitySecs)
		}
	}
	sel := newSelection(in)
	var deadline time.Time // real time: long polls really wait
	for {
		s.mu.Lock()
		if q.deleted {
			s.mu.Unlock()
			return nil, errQueueDoesNotExist()
		}
		now := s.now()
		msgs := s.receive(q, limit, time.Duration(vt)*time.Second, now, sel)
		if len(msgs) > 0 || wait == 0 {
			s.mu.Unlock()
			return receiveOutput{Messages: msgs}, nil
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(time.Duration(wait) * time.Second)
		}
		wake := q.wake
		next, ok := q.nextVisible(now)
		s.mu.Unlock()

		d := time.Until(deadline)
		if d <= 0 {
			return receiveOutput{}, nil
		}
		if ok && next < d {
			d = next
		}
		t := time.NewTimer(d)
		select {
		case <-wake:
		case <-t.C:
		case <-c.ctx.Done():
		case <-s.done:
		}
		t.Stop()
		if c.ctx.Err() != nil || isClosed(s.done) {
			return receiveOutput{}, nil
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// nextVisible is how long until the first delayed or in-flight message of q
// becomes receivable.
func (q *queue) nextVisible(now time.Time) (time.Duration, bool) {
	var best time.Duration
	found := false
	for _, m := range q.msgs {
		if m.deleted || !now.Before(m.visibleAt) {
			continue
		}
		if d := m.visibleAt.Sub(now); !found || d < best {
			best, found = d, true
		}
	}
	return best, found
}

// receive takes up to limit receivable messages of q. A message already
// received maxReceiveCount times goes to the dead-letter queue instead of
// being delivered again.
func (s *Server) receive(q *queue, limit int, vt time.Duration, now time.Time, sel selection) []messageOut {
	q.sweep(now)
	var dlq *queue
	if q.redrive != nil {
		if dlq = s.queueByARN(q.redrive.DeadLetterTargetArn); dlq == q {
			dlq = nil
		}
	}
	var out []messageOut
	for _, m := range q.msgs {
		if len(out) == limit {
			break
		}
		if m.deleted || now.Before(m.visibleAt) {
			continue
		}
		if dlq != nil && m.receives >= q.redrive.MaxReceiveCount {
			q.remove(m)
			moved := *m
			moved.deleted = false
			moved.receipt = ""
			moved.visibleAt = now
			moved.deadLetterSource = q.arn
			dlq.add(&moved)
			continue
		}
		m.receives++
		if m.receives == 1 {
			m.firstReceive = now
		}
		m.visibleAt = now.Add(vt)
		m.receipt = newReceipt(q.name, m.id)
		m.received = now
		out = append(out, sel.render(m, s.account))
	}
	return out
}

// --- deleting and changing visibility ---

type receiptInput struct {
	QueueUrl          *string
	Id                *string
	ReceiptHandle     *string
	VisibilityTimeout *int
}

type batchReceiptInput struct {
	QueueUrl *string
	Entries  []receiptInput
}

type idResult struct{ Id string }

type batchOutput struct {
	Successful []idResult
	Failed     []batchError
}

// deleteOne deletes by the current receipt handle. An outdated handle is a
// successful no-op, as in SQS.
func (s *Server) deleteOne(q *queue, e *receiptInput) error {
	m, err := q.byReceipt(e.ReceiptHandle)
	if m != nil {
		q.remove(m)
	}
	return err
}

func (s *Server) changeOne(q *queue, e *receiptInput, now time.Time) error {
	if e.VisibilityTimeout == nil {
		return errMissingParameter("VisibilityTimeout")
	}
	vt := *e.VisibilityTimeout
	if vt < 0 || vt > maxVisibilitySecs {
		return errInvalidParameter("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= %d.", vt, maxVisibilitySecs)
	}
	m, err := q.byReceipt(e.ReceiptHandle)
	if err != nil {
		return err
	}
	if m == nil {
		return errReceiptHandleExpired(*e.ReceiptHandle)
	}
	// A message stays in flight at most 12 hours from the receive that
	// issued the handle, however often its timeout is changed.
	visibleAt := now.Add(time.Duration(vt) * time.Second)
	if visibleAt.Sub(m.received) > maxVisibilitySecs*time.Second {
		return errInvalidParameter("Value %d for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [%d seconds].", vt, maxVisibilitySecs)
	}
	m.visibleAt = visibleAt
	q.signal()
	return nil
}

func (s *Server) deleteMessage(c *call, in *receiptInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteOne(q, in)
}

func (s *Server) changeMessageVisibility(c *call, in *receiptInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, s.changeOne(q, in, s.now())
}

func (s *Server) eachReceipt(kind string, in *batchReceiptInput, fn func(*queue, *receiptInput, time.Time) error) (any, error) {
	ids := make([]*string, len(in.Entries))
	for i := range in.Entries {
		ids[i] = in.Entries[i].Id
	}
	if err := checkBatch(kind, ids); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := batchOutput{Successful: []idResult{}, Failed: []batchError{}}
	for i := range in.Entries {
		e := &in.Entries[i]
		if err := fn(q, e, now); err != nil {
			out.Failed = append(out.Failed, failure(*e.Id, err))
			continue
		}
		out.Successful = append(out.Successful, idResult{Id: *e.Id})
	}
	return out, nil
}

func (s *Server) deleteMessageBatch(c *call, in *batchReceiptInput) (any, error) {
	return s.eachReceipt("DeleteMessageBatch", in, func(q *queue, e *receiptInput, _ time.Time) error {
		return s.deleteOne(q, e)
	})
}

func (s *Server) changeMessageVisibilityBatch(c *call, in *batchReceiptInput) (any, error) {
	return s.eachReceipt("ChangeMessageVisibilityBatch", in, s.changeOne)
}
