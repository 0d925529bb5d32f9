package sqslocal

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Message move task states, as ListMessageMoveTasks reports them.
const (
	taskRunning   = "RUNNING"
	taskCompleted = "COMPLETED"
	taskCancelled = "CANCELLED"
	taskFailed    = "FAILED"
)

const maxMoveRate = 500 // messages per second, the SQS limit

// moveTask moves the receivable messages of a dead-letter queue back to
// their source queue (or to a given destination), the way the DLQ redrive
// of StartMessageMoveTask does.
type moveTask struct {
	handle  string
	source  string // ARN
	dest    string // ARN; "" sends each message back where it came from
	rate    int    // messages per second; 0 means as fast as possible
	status  string
	toMove  int64
	moved   int64
	started time.Time
	failure string
}

type startMoveInput struct {
	SourceArn                    *string
	DestinationArn               *string
	MaxNumberOfMessagesPerSecond *int
}

type taskHandleOutput struct {
	TaskHandle string
}

func (s *Server) startMessageMoveTask(c *call, in *startMoveInput) (any, error) {
	if in.SourceArn == nil || *in.SourceArn == "" {
		return nil, errMissingParameter("SourceArn")
	}
	t := &moveTask{source: *in.SourceArn, dest: deref(in.DestinationArn), status: taskRunning}
	if in.MaxNumberOfMessagesPerSecond != nil {
		t.rate = *in.MaxNumberOfMessagesPerSecond
		if t.rate < 1 || t.rate > maxMoveRate {
			return nil, errInvalidParameter("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and %d.", t.rate, maxMoveRate)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.queueByARN(t.source)
	if src == nil {
		return nil, errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist: %s", t.source)
	}
	if len(s.sourcesOf(src)) == 0 {
		return nil, errInvalidParameter("Value %s for parameter SourceArn is invalid. Reason: Source queue must be configured as a Dead Letter Queue.", t.source)
	}
	if t.dest != "" {
		dst := s.queueByARN(t.dest)
		if dst == nil {
			return nil, errResourceNotFound("The resource that you specified for the DestinationArn parameter doesn't exist: %s", t.dest)
		}
		if dst == src {
			return nil, errInvalidParameter("Value %s for parameter DestinationArn is invalid. Reason: Source and destination must differ.", t.dest)
		}
	}
	for _, other := range s.tasks {
		if other.source == t.source && other.status == taskRunning {
			return nil, errInvalidParameter("There is already a task running. Only one active task is allowed for each source queue arn at a given time.")
		}
	}
	now := s.now()
	handle, _ := json.Marshal(map[string]string{"taskId": newID(), "sourceArn": t.source})
	t.handle = base64.StdEncoding.EncodeToString(handle)
	t.started = now
	t.toMove = int64(src.counts(now).visible)
	s.tasks = append(s.tasks, t)
	if t.rate == 0 {
		for s.moveOne(t, now) {
		}
		return taskHandleOutput{TaskHandle: t.handle}, nil
	}
	if isClosed(s.done) {
		t.status, t.failure = taskFailed, "sqslocal: server closed"
		return taskHandleOutput{TaskHandle: t.handle}, nil
	}
	s.workers.Add(1)
	go s.pace(t)
	return taskHandleOutput{TaskHandle: t.handle}, nil
}

// pace runs a rate-limited task, one message per tick, until it completes,
// fails, is cancelled, or the server closes.
func (s *Server) pace(t *moveTask) {
	defer s.workers.Done()
	tick := time.NewTicker(time.Second / time.Duration(t.rate))
	defer tick.Stop()
	for {
		s.mu.Lock()
		more := t.status == taskRunning && s.moveOne(t, s.now())
		s.mu.Unlock()
		if !more {
			return
		}
		select {
		case <-tick.C:
		case <-s.done:
			s.mu.Lock()
			if t.status == taskRunning {
				t.status, t.failure = taskFailed, "sqslocal: server closed"
			}
			s.mu.Unlock()
			return
		}
	}
}

// moveOne moves the next receivable message of t's source and reports
// whether the task goes on. The caller holds s.mu.
func (s *Server) moveOne(t *moveTask, now time.Time) bool {
	fail := func(format string, args ...any) bool {
		t.status, t.failure = taskFailed, fmt.Sprintf(format, args...)
		return false
	}
	if t.moved >= t.toMove {
		t.status = taskCompleted
		return false
	}
	src := s.queueByARN(t.source)
	if src == nil {
		return fail("source queue %s was deleted", t.source)
	}
	src.sweep(now)
	var m *message
	for _, x := range src.msgs {
		if !now.Before(x.visibleAt) {
			m = x
			break
		}
	}
	if m == nil {
		t.status = taskCompleted
		return false
	}
	destARN := t.dest
	if destARN == "" {
		destARN = m.deadLetterSource
		if sources := s.sourcesOf(src); destARN == "" && len(sources) == 1 {
			destARN = sources[0].arn
		}
	}
	if destARN == "" {
		return fail("message %s was not redriven from a source queue and several queues use this one as their dead-letter queue: pass DestinationArn", m.id)
	}
	dst := s.queueByARN(destARN)
	if dst == nil {
		return fail("destination queue %s does not exist", destARN)
	}
	src.remove(m)
	// Back in a source queue it is a new delivery: fresh receive count and
	// retention, same id, body and attributes.
	dst.add(&message{
		id: m.id, body: m.body, attrs: m.attrs, system: m.system, groupID: m.groupID,
		md5Body: m.md5Body, md5Attrs: m.md5Attrs, md5System: m.md5System,
		sent: now, visibleAt: now,
	})
	t.moved++
	if t.moved >= t.toMove {
		t.status = taskCompleted
		return false
	}
	return true
}

type listMoveInput struct {
	SourceArn  *string
	MaxResults *int
}

type moveTaskEntry struct {
	TaskHandle                        string `json:"TaskHandle,omitempty"`
	Status                            string
	SourceArn                         string
	DestinationArn                    string `json:"DestinationArn,omitempty"`
	MaxNumberOfMessagesPerSecond      *int   `json:"MaxNumberOfMessagesPerSecond,omitempty"`
	ApproximateNumberOfMessagesMoved  int64
	ApproximateNumberOfMessagesToMove int64
	FailureReason                     string `json:"FailureReason,omitempty"`
	StartedTimestamp                  int64
}

type listMoveOutput struct {
	Results []moveTaskEntry
}

func (s *Server) listMessageMoveTasks(c *call, in *listMoveInput) (any, error) {
	if in.SourceArn == nil || *in.SourceArn == "" {
		return nil, errMissingParameter("SourceArn")
	}
	limit := 1
	if in.MaxResults != nil {
		if limit = *in.MaxResults; limit < 1 || limit > 10 {
			return nil, errInvalidParameter("Value %d for parameter MaxResults is invalid. Reason: Must be between 1 and 10.", limit)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queueByARN(*in.SourceArn) == nil {
		return nil, errResourceNotFound("The resource that you specified for the SourceArn parameter doesn't exist: %s", *in.SourceArn)
	}
	out := listMoveOutput{Results: []moveTaskEntry{}}
	for i := len(s.tasks) - 1; i >= 0 && len(out.Results) < limit; i-- {
		t := s.tasks[i]
		if t.source != *in.SourceArn {
			continue
		}
		e := moveTaskEntry{
			Status:                            t.status,
			SourceArn:                         t.source,
			DestinationArn:                    t.dest,
			ApproximateNumberOfMessagesMoved:  t.moved,
			ApproximateNumberOfMessagesToMove: t.toMove,
			FailureReason:                     t.failure,
			StartedTimestamp:                  t.started.UnixMilli(),
		}
		if t.status == taskRunning {
			e.TaskHandle = t.handle // SQS shows the handle of running tasks only
		}
		if t.rate > 0 {
			e.MaxNumberOfMessagesPerSecond = &t.rate
		}
		out.Results = append(out.Results, e)
	}
	return out, nil
}

type cancelMoveInput struct {
	TaskHandle *string
}

type cancelMoveOutput struct {
	ApproximateNumberOfMessagesMoved int64
}

func (s *Server) cancelMessageMoveTask(c *call, in *cancelMoveInput) (any, error) {
	if in.TaskHandle == nil || *in.TaskHandle == "" {
		return nil, errMissingParameter("TaskHandle")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tasks {
		if t.handle != *in.TaskHandle {
			continue
		}
		if t.status != taskRunning {
			return nil, errInvalidParameter("Value %s for parameter TaskHandle is invalid. Reason: Only a running task can be cancelled; this one is %s.", t.handle, t.status)
		}
		t.status = taskCancelled
		return cancelMoveOutput{ApproximateNumberOfMessagesMoved: t.moved}, nil
	}
	return nil, errResourceNotFound("Task does not exist: %s", *in.TaskHandle)
}
