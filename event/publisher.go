package event

import "context"

// Publisher puts events on the bus: the one input contract every producer (drivers,
// device health, patrol, the police link) consumes. *Bus satisfies it; Publish
// returns the event with its sequence number (Seq) once it is handed on, or an error
// (ErrClosed, or the context's) when it was not. event/eventtest has an in-memory one
// for tests.
type Publisher interface {
	Publish(ctx context.Context, e Event) (Event, error)
}

var _ Publisher = (*Bus)(nil)
