package sqslocal

import (
	"fmt"
	"net/http"
)

// apiError is an SQS error as the JSON 1.0 protocol carries it. shape is the
// Smithy shape name the SDK resolves through "__type" (so errors.As into
// *types.QueueDoesNotExist works); query is the legacy query-protocol code
// sent in x-amzn-query-error, which the SDK reports as ErrorCode() and which
// batch results use as the entry's Code.
type apiError struct {
	shape   string
	query   string
	message string
	status  int
}

func (e *apiError) Error() string { return e.query + ": " + e.message }

func newError(shape, query, format string, args ...any) *apiError {
	return &apiError{shape: shape, query: query, message: fmt.Sprintf(format, args...), status: http.StatusBadRequest}
}

func errQueueDoesNotExist() *apiError {
	return newError("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

func errQueueNameExists(name string) *apiError {
	return newError("QueueNameExists", "QueueAlreadyExists", "A queue named %s already exists with different attributes.", name)
}

func errInvalidParameter(format string, args ...any) *apiError {
	return newError("InvalidParameterValue", "InvalidParameterValue", format, args...)
}

func errMissingParameter(name string) *apiError {
	return newError("MissingParameter", "MissingParameter", "The request must contain the parameter %s.", name)
}

func errInvalidAttributeName(name string) *apiError {
	return newError("InvalidAttributeName", "InvalidAttributeName", "Unknown Attribute %s.", name)
}

func errInvalidAttributeValue(name string) *apiError {
	return newError("InvalidAttributeValue", "InvalidAttributeValue", "Invalid value for the parameter %s.", name)
}

func errReceiptHandleInvalid(handle string) *apiError {
	return newError("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle %q is not a valid receipt handle.", handle)
}

func errReceiptHandleExpired(handle string) *apiError {
	return errInvalidParameter("Value %s for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.", handle)
}

func errInvalidMessageContents(format string, args ...any) *apiError {
	return newError("InvalidMessageContents", "InvalidMessageContents", format, args...)
}

func errEmptyBatch(kind string) *apiError {
	return newError("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one %sRequestEntry in the request.", kind)
}

func errTooManyEntries(n int) *apiError {
	return newError("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, n)
}

func errBatchIDsNotDistinct(id string) *apiError {
	return newError("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id %s repeated.", id)
}

func errInvalidBatchEntryID(id string) *apiError {
	return newError("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long (got %q).", id)
}

func errBatchTooLong(n int) *apiError {
	return newError("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxMessageBytes, n)
}

func errPurgeInProgress(queue string) *apiError {
	return newError("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", "Only one PurgeQueue operation on %s is allowed every 60 seconds.", queue)
}

func errResourceNotFound(format string, args ...any) *apiError {
	return newError("ResourceNotFoundException", "ResourceNotFoundException", format, args...)
}

func errUnsupported(format string, args ...any) *apiError {
	return newError("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", format, args...)
}

func errSerialization(err error) *apiError {
	return newError("SerializationException", "SerializationException", "sqslocal: the request body is not valid JSON for this operation: %v", err)
}
