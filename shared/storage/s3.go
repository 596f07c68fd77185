package storage

import (
	"context"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a Store in a bucket of an S3-compatible service (AWS S3, Tencent COS, Aliyun
// OSS, MinIO), through minio-go. Objects are private: the console serves them to
// the users allowed to see them, never by a public URL.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
}

// S3Config is where the bucket is.
type S3Config struct {
	Endpoint  string // host[:port], e.g. "cos.ap-shanghai.myqcloud.com"
	Bucket    string
	Prefix    string // prepended to every key ("tandem/"); may be empty
	AccessKey string
	SecretKey string
	Region    string
	Insecure  bool // plain HTTP (a local MinIO)
}

// NewS3 returns a Store in cfg's bucket. It does not call the service: a wrong
// endpoint or key shows at the first Put.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("storage: S3 needs an endpoint and a bucket")
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.Insecure, Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("storage: S3 client: %w", err)
	}
	return &S3{client: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

// Put uploads the object under key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if _, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, r, size, minio.PutObjectOptions{ContentType: contentType}); err != nil {
		return fmt.Errorf("storage: put %s: %w", key, err)
	}
	return nil
}

// Open reads the object at key.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("storage: get %s: %w", key, err)
	}
	// GetObject is lazy: Stat makes the request, so a missing key shows here.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("storage: get %s: %w", key, err)
	}
	return obj, nil
}

// Delete removes the object at key.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("storage: delete %s: %w", key, err)
	}
	return nil
}
