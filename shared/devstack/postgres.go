package devstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgConf is appended to postgresql.conf at initdb. Tuned for a developer machine and
// parallel tests: many short-lived connections and databases. Durability is full:
// fsync and synchronous_commit are on, so a commit Tandem acknowledged (a 204 to
// WeChat, a 2xx to a client) survives a PostgreSQL crash. With synchronous_commit off
// an immediate restart lost about one acknowledged payment per crash. The one place
// it is off is the throwaway databases of the tests (pgtest), which a crash may lose
// without harm.
//
// Checkpoints are spaced (max_wal_size, checkpoint_timeout) and full-page images
// compressed (wal_compression): a bulk import into an indexed table wrote most of its
// WAL as the first image of each index page after a checkpoint.
//
// shared_buffers is set at every start (startSettings), not here.
const pgConf = `
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 400
synchronous_commit = on
wal_level = minimal
max_wal_senders = 0
fsync = on
max_wal_size = 4GB
checkpoint_timeout = 15min
wal_compression = lz4
log_min_messages = warning
logging_collector = off
timezone = 'UTC'
`

// pgDataLink is where the cluster's data directory is, or a link to it (pgFallbackRoot).
func (s *Stack) pgDataLink() string { return filepath.Join(s.Dir, "pg", "data") }

// pgDataDir is the cluster's data directory with links resolved: PostgreSQL runs as the
// postgres account, which may not be able to follow a path through our directories.
func (s *Stack) pgDataDir() string {
	if target, err := filepath.EvalSymlinks(s.pgDataLink()); err == nil {
		return target
	}
	return s.pgDataLink()
}

// pgLogFile sits beside the data directory, where the postgres account may write.
func (s *Stack) pgLogFile() string { return filepath.Join(filepath.Dir(s.pgDataDir()), "postgres.log") }

// pgFallbackRoot holds clusters whose ./var the postgres account cannot reach (a
// checkout under a private home directory): one directory per var directory.
const pgFallbackRoot = "/var/lib/tandem"

// pgBinDir finds PostgreSQL 15 or newer among the installed server binaries.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if pgMajor(d) >= 15 {
			if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
				return d, nil
			}
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL 15 server binaries not found: install Debian packages postgresql-15 (run deploy/dev/install.sh postgres)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// pgRunAs is the unprivileged account PostgreSQL runs under when we are root
// (postgres refuses to run as root). Debian's package creates "postgres".
func pgRunAs() (*user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root needs the 'postgres' account to run PostgreSQL: install Debian package postgresql-15")
	}
	return u, nil
}

// pgCommand runs a PostgreSQL binary, as the unprivileged account when we are root.
func pgCommand(ctx context.Context, runAs *user.User, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	if runAs != nil {
		uid, _ := strconv.Atoi(runAs.Uid)
		gid, _ := strconv.Atoi(runAs.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Env = append(os.Environ(), "HOME="+runAs.HomeDir)
	}
	// A fresh process group: Ctrl-C on `make run` goes to our process, which then stops
	// the servers in order, instead of the terminal killing postgres mid-flight.
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	return cmd
}

func (s *Stack) pgPing(ctx context.Context) (dataDir string, err error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, s.DatabaseURLFor("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(cctx)
	err = conn.QueryRow(cctx, "SHOW data_directory").Scan(&dataDir)
	return dataDir, err
}

// startPostgres initialises the cluster on first use and starts it unless it runs.
func (s *Stack) startPostgres(ctx context.Context) (bool, error) {
	data := s.pgDataDir()
	if dir, err := s.pgPing(ctx); err == nil {
		if sameDir(dir, data) {
			return false, s.ensureDatabase(ctx)
		}
		return false, fmt.Errorf("port %d has a PostgreSQL serving %s, not ours (%s): set TANDEM_PG_PORT to a free port", s.PGPort, dir, data)
	}
	bin, err := pgBinDir()
	if err != nil {
		return false, err
	}
	runAs, err := pgRunAs()
	if err != nil {
		return false, err
	}
	if err := s.initPostgres(ctx, bin, runAs); err != nil {
		return false, err
	}
	data = s.pgDataDir() // initdb may have placed it elsewhere (pgDataDirFor)
	s.removeStalePostmasterPid()
	logFile := s.pgLogFile()
	s.Log.Info("starting PostgreSQL", "port", s.PGPort, "data", data)
	cmd := pgCommand(ctx, runAs, filepath.Join(bin, "pg_ctl"), "start", "-D", data, "-l", logFile, "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d%s", s.PGPort, startOptions()))
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("PostgreSQL did not start on 127.0.0.1:%d (%v): %s; see %s", s.PGPort, err, strings.TrimSpace(string(out)), logFile)
	}
	if err := waitFor(ctx, 30*time.Second, "PostgreSQL", func() bool { _, err := s.pgPing(ctx); return err == nil }); err != nil {
		return true, err
	}
	return true, s.ensureDatabase(ctx)
}

func (s *Stack) initPostgres(ctx context.Context, bin string, runAs *user.User) error {
	if _, err := os.Stat(filepath.Join(s.pgDataDir(), "PG_VERSION")); err == nil {
		return nil
	}
	// A half-made data directory (or a link to one) from an interrupted initdb cannot be reused.
	link := s.pgDataLink()
	if err := os.RemoveAll(link); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	data := link
	if runAs != nil {
		var err error
		if data, err = s.pgDataDirFor(ctx, runAs); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	if runAs != nil {
		if err := chownTo(runAs, filepath.Dir(data), data); err != nil {
			return err
		}
		if out, err := pgCommand(ctx, runAs, "test", "-w", data).CombinedOutput(); err != nil {
			return fmt.Errorf("account %q cannot write %s (%v %s)", runAs.Username, data, err, out)
		}
	}
	s.Log.Info("initialising PostgreSQL cluster", "data", data)
	cmd := pgCommand(ctx, runAs, filepath.Join(bin, "initdb"), "-D", data, "-U", DBUser, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(data)
		return fmt.Errorf("initdb failed: %v: %s", err, out)
	}
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString(pgConf)
	return err
}

// pgDataDirFor picks where the cluster lives when PostgreSQL runs as runAs: under
// ./var/pg when that account can reach it, else under pgFallbackRoot with ./var/pg/data
// a link to it (so 'make run' works from a checkout in a private directory).
func (s *Stack) pgDataDirFor(ctx context.Context, runAs *user.User) (string, error) {
	dir := filepath.Dir(s.pgDataLink())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	if err := chownTo(runAs, dir); err != nil {
		return "", err
	}
	if pgCommand(ctx, runAs, "test", "-x", dir).Run() == nil {
		return s.pgDataLink(), nil
	}
	sum := sha256.Sum256([]byte(s.Dir))
	base := filepath.Join(pgFallbackRoot, hex.EncodeToString(sum[:6]))
	if err := os.RemoveAll(base); err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	data := filepath.Join(base, "data")
	if err := os.Symlink(data, s.pgDataLink()); err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	s.Log.Warn("the postgres account cannot reach the var directory; the cluster lives elsewhere", "var", s.Dir, "data", data)
	return data, nil
}

func chownTo(u *user.User, paths ...string) error {
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("devstack: %w", err)
		}
	}
	return nil
}

// removeStalePostmasterPid deletes postmaster.pid when the pid it names is not a live
// postgres (a crash left it, and the pid may since belong to another program).
func (s *Stack) removeStalePostmasterPid() {
	path := filepath.Join(s.pgDataDir(), "postmaster.pid")
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if !processAlive(pid, "postgres") {
		s.Log.Warn("removing stale PostgreSQL pid file", "pid", pid, "file", path)
		os.Remove(path)
	}
}

func (s *Stack) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.DatabaseURLFor("postgres"))
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	defer conn.Close(ctx)
	if err := ensureSettings(ctx, conn); err != nil {
		return err
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", DBName).Scan(&exists); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+DBName)
	return err
}

// startSettings are given to the server on its command line at every start, so that a
// cluster made before they changed gets them at its next start too (they cannot be
// reloaded). shared_buffers: at 256 MB the million-row tables of the benches and of a
// real city (a million leads with their trigram and spatial indexes, a million points
// lots) did not fit, and a bulk write read pages back and wrote them out again between
// its batches; 2 GB is a twelfth of the development machine's memory (PostgreSQL's
// guide suggests up to a quarter) and is only taken as pages are used.
var startSettings = [][2]string{
	{"shared_buffers", "2GB"},
}

// startOptions are startSettings as postgres command-line options.
func startOptions() string {
	var b strings.Builder
	for _, kv := range startSettings {
		fmt.Fprintf(&b, " -c %s=%s", kv[0], kv[1])
	}
	return b.String()
}

// reloadSettings are the settings a cluster made before they were in pgConf gets by
// ALTER SYSTEM and a reload (no restart needed): durable commits first of all.
var reloadSettings = [][2]string{
	{"synchronous_commit", "on"},
	{"max_wal_size", "4GB"},
	{"checkpoint_timeout", "15min"},
	{"wal_compression", "lz4"},
}

// ensureSettings brings an older cluster's settings to pgConf's.
func ensureSettings(ctx context.Context, conn *pgx.Conn) error {
	changed := false
	for _, kv := range reloadSettings {
		var same bool
		if err := conn.QueryRow(ctx, "SELECT current_setting($1) = $2", kv[0], kv[1]).Scan(&same); err != nil {
			return fmt.Errorf("devstack: %s: %w", kv[0], err)
		}
		if same {
			continue
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER SYSTEM SET %s = '%s'", kv[0], kv[1])); err != nil {
			return fmt.Errorf("devstack: %s = %s: %w", kv[0], kv[1], err)
		}
		changed = true
	}
	if changed {
		if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
			return fmt.Errorf("devstack: reload: %w", err)
		}
	}
	return nil
}

func (s *Stack) stopPostgres(ctx context.Context) error {
	data := s.pgDataDir()
	if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err != nil {
		return nil
	}
	bin, err := pgBinDir()
	if err != nil {
		return err
	}
	runAs, err := pgRunAs()
	if err != nil {
		return err
	}
	s.Log.Info("stopping PostgreSQL", "data", data)
	// A fresh context: stopping must happen even when the caller's was cancelled (Ctrl-C).
	out, err := pgCommand(context.WithoutCancel(ctx), runAs, filepath.Join(bin, "pg_ctl"), "stop", "-D", data, "-m", "fast", "-w", "-t", "60").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

func sameDir(a, b string) bool {
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	if errA != nil || errB != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ra == rb
}
