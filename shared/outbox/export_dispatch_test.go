package outbox

// SetOnClaim installs the hook that runs as a subscriber's claim begins.
func (d *Dispatcher) SetOnClaim(f func(subscriber string)) { d.onClaim = f }
