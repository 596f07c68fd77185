package identity

// Generation is this process's identity generation (0: unknown), for tests that wait
// for a notification to arrive.
func (s *Service) Generation() int64 { return s.tokens.gen.current() }
