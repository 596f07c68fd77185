package storage_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/storage"
)

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	img.Set(3, 3, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLocalStoresReadsAndDeletes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello")
	if err := s.Put(ctx, "a/b/c.txt", bytes.NewReader(data), int64(len(data)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "a/b/c.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != "hello" {
		t.Fatalf("read %q", got)
	}
	// A short body is not stored as if complete.
	if err := s.Put(ctx, "a/short", bytes.NewReader(data), 10, "text/plain"); err == nil {
		t.Fatal("a short body was accepted")
	}
	if _, err := s.Open(ctx, "a/short"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("short object: %v, want not found", err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../x", "", "a//b"} {
		if err := s.Put(ctx, bad, bytes.NewReader(data), 5, ""); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	if err := s.Delete(ctx, "a/b/c.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "a/b/c.txt"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.Delete(ctx, "a/b/c.txt"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
}

func TestCheckSniffsTheContentNotTheName(t *testing.T) {
	t.Parallel()
	jpg := jpegBytes(t)
	u, err := storage.Check("photo", bytes.NewReader(jpg), 1<<20, storage.Images)
	if err != nil {
		t.Fatal(err)
	}
	if u.ContentType != "image/jpeg" || u.Ext != ".jpg" || u.Size() != int64(len(jpg)) || len(u.SHA256) != 64 {
		t.Fatalf("upload %+v", u)
	}
	var pngBuf bytes.Buffer
	_ = png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 4, 4)))
	if u, err := storage.Check("photo", &pngBuf, 1<<20, storage.Images); err != nil || u.Ext != ".png" {
		t.Fatalf("png: %+v %v", u, err)
	}

	self, err := os.Executable() // this test binary: a real executable
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	pe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 200)...)
	cases := []struct {
		name string
		data []byte
		max  int64
		code string
		kind errs.Kind
	}{
		{"empty", nil, 1 << 20, storage.CodeEmpty, errs.KindInvalid},
		{"too large", jpg, int64(len(jpg)) - 1, storage.CodeTooLarge, errs.KindTooLarge},
		{"ELF renamed .jpg", exe[:4096], 1 << 20, storage.CodeExecutable, errs.KindUnprocessable},
		{"shell script", []byte("#!/bin/sh\nrm -rf /\n"), 1 << 20, storage.CodeExecutable, errs.KindUnprocessable},
		{"windows exe", pe, 1 << 20, storage.CodeExecutable, errs.KindUnprocessable},
		{"pdf where a photo is wanted", []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"), 1 << 20, storage.CodeTypeNotAllowed, errs.KindUnprocessable},
		{"text", []byte("just words"), 1 << 20, storage.CodeTypeNotAllowed, errs.KindUnprocessable},
	}
	for _, c := range cases {
		_, err := storage.Check("photo", bytes.NewReader(c.data), c.max, storage.Images)
		e := errs.As(err)
		if e == nil || e.Code != c.code || e.Kind != c.kind || e.Field != "photo" {
			t.Errorf("%s: %v, want %s (%s) on photo", c.name, err, c.code, c.kind)
		}
	}
	if _, err := storage.Check("doc", bytes.NewReader([]byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")), 1<<20, storage.Documents); err != nil {
		t.Fatalf("a PDF document: %v", err)
	}
}
