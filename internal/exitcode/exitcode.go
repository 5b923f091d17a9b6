// Package exitcode gives each kind of failure its own process exit code, so
// that CI can tell a failed check from a bad flag or an unusable cluster.
package exitcode

import "errors"

// The codes kubeproof exits with.
const (
	OK          = 0
	CheckFailed = 1 // a check ran and failed
	Usage       = 2 // bad flags, bad config or bad input files
	Environment = 3 // the cluster or the machine could not be used
	Busy        = 4 // another kubeproof run holds the cluster: try again later
	Interrupted = 130
)

// Error carries an exit code along with the error that explains it.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// WithCode tags err with an exit code; nil stays nil.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// UsageError tags a bad-input error.
func UsageError(err error) error { return WithCode(Usage, err) }

// EnvironmentError tags an error about the cluster or the machine.
func EnvironmentError(err error) error { return WithCode(Environment, err) }

// BusyError tags an error about a cluster another run holds.
func BusyError(err error) error { return WithCode(Busy, err) }

// Of returns the exit code for err: the tagged code, or CheckFailed for an
// untagged error.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CheckFailed
}
