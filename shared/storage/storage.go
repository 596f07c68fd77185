// Package storage keeps uploaded files (visit photos, onboarding documents) behind one
// interface: a local directory for development and tests (Local, under ./var), and an
// S3-compatible bucket for production (S3, through minio-go). Keys are chosen by the
// caller and never come from a user's file name.
//
// Check is the upload gate every domain uses before Put: the type is sniffed from
// the content (never from the name or the declared type), sizes are limited, and
// executables are refused whatever they are called.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Store keeps objects by key ("merchant/visits/<id>/<id>.jpg").
type Store interface {
	// Put writes size bytes of r under key with the given content type; a second Put
	// of the same key replaces it.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open reads the object at key; ErrNotFound when there is none. The caller closes it.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the object at key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrNotFound is what Open answers for a key with no object.
var ErrNotFound = errors.New("storage: no such object")

// validKey refuses keys that could leave the store's root or name nothing.
func validKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || len(key) > 512 {
		return fmt.Errorf("storage: invalid key %q", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("storage: invalid key %q", key)
		}
	}
	return nil
}
