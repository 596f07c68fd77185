package outbox

// SetAfterEnqueue installs the hook that runs between a batch's enqueue and its mark.
func (r *Relay) SetAfterEnqueue(f func()) { r.afterEnqueue = f }

// Envelope is the task payload the relay and the re-driver write for an event.
var Envelope = envelope
