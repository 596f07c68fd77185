package outbox

// SetAfterEnqueue installs the hook that runs between a batch's enqueue and its mark.
func (r *Relay) SetAfterEnqueue(f func()) { r.afterEnqueue = f }
