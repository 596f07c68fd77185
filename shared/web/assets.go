package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// The console's static files are embedded, so their content never changes while the
// process runs: each is served under a fingerprinted URL (/assets/app.css?v=<hash>)
// cached for a year, gzipped once at start, and an unknown or stale fingerprint is
// still served, uncached. A browser that cancels a download is not an error.

type asset struct {
	body, gz    []byte
	contentType string
	hash        string
}

type assetSet struct {
	files map[string]*asset
}

var (
	assetsOnce sync.Once
	assetsSet  *assetSet
)

// loadAssets reads and compresses the embedded assets once per process; they are
// constants of the binary.
func loadAssets() *assetSet {
	assetsOnce.Do(func() {
		set := &assetSet{files: map[string]*asset{}}
		_ = fs.WalkDir(Assets(), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			body, err := fs.ReadFile(Assets(), p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(body)
			a := &asset{body: body, hash: hex.EncodeToString(sum[:])[:12], contentType: mime.TypeByExtension(path.Ext(p))}
			if a.contentType == "" {
				a.contentType = "application/octet-stream"
			}
			if len(body) > 1024 {
				var b bytes.Buffer
				zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
				_, _ = zw.Write(body)
				_ = zw.Close()
				a.gz = b.Bytes()
			}
			set.files[p] = a
			return nil
		})
		assetsSet = set
	})
	return assetsSet
}

// assetPath is the fingerprinted URL of an asset ("app.css" → "/assets/app.css?v=…").
func assetPath(name string) string {
	if a, ok := loadAssets().files[name]; ok {
		return "/assets/" + name + "?v=" + a.hash
	}
	return "/assets/" + name
}

// serveAsset serves GET /assets/*path.
func serveAsset(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("path"), "/")
	a, ok := loadAssets().files[name]
	if !ok {
		c.Status(http.StatusNotFound)
		return
	}
	h := c.Writer.Header()
	if v := c.Query("v"); v == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.hash+`"`)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if c.GetHeader("If-None-Match") == `"`+a.hash+`"` {
		c.Status(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && strings.Contains(c.GetHeader("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	// A write error means the browser went away: nothing to report.
	c.Data(http.StatusOK, a.contentType, body)
}
