package identity

// Generation is this process's identity generation (0: unknown), for tests that wait
// for a notification to arrive.
func (s *Service) Generation() int64 { return s.tokens.gen.current() }

// TokenRateSeen is the count of the token's current window as this process sees it:
// every process's count at its last flush plus its own since.
func (s *Service) TokenRateSeen(tokenID string) int {
	s.rates.mu.Lock()
	defer s.rates.mu.Unlock()
	b := s.rates.buckets["token:"+tokenID]
	if b == nil {
		return 0
	}
	return b.total + b.unflushed
}
