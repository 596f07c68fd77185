package merchant

// SetAfterImportChunk makes s call f after each chunk of an import committed (tests
// stop a runner between chunks with it).
func (s *Service) SetAfterImportChunk(f func(chunk int)) { s.afterImportChunk = f }
