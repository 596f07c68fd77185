package storage

import (
	"path/filepath"
	"strconv"
)

// Config chooses the store: an S3-compatible bucket when S3.Endpoint is set, else a
// local directory.
type Config struct {
	Dir string // the local directory; default <var dir>/uploads
	S3  S3Config
}

// Open returns the store cfg names.
func Open(cfg Config) (Store, error) {
	if cfg.S3.Endpoint != "" {
		return NewS3(cfg.S3)
	}
	return NewLocal(cfg.Dir)
}

// ConfigFromEnv reads TANDEM_STORAGE_DIR and TANDEM_S3_ENDPOINT, _BUCKET, _PREFIX,
// _ACCESS_KEY, _SECRET_KEY, _REGION, _INSECURE (true for plain HTTP) through getenv
// (os.Getenv); the directory defaults to varDir/uploads.
func ConfigFromEnv(getenv func(string) string, varDir string) Config {
	dir := getenv("TANDEM_STORAGE_DIR")
	if dir == "" {
		dir = filepath.Join(varDir, "uploads")
	}
	insecure, _ := strconv.ParseBool(getenv("TANDEM_S3_INSECURE"))
	return Config{Dir: dir, S3: S3Config{Endpoint: getenv("TANDEM_S3_ENDPOINT"), Bucket: getenv("TANDEM_S3_BUCKET"),
		Prefix: getenv("TANDEM_S3_PREFIX"), AccessKey: getenv("TANDEM_S3_ACCESS_KEY"), SecretKey: getenv("TANDEM_S3_SECRET_KEY"),
		Region: getenv("TANDEM_S3_REGION"), Insecure: insecure}}
}
