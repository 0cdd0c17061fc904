// Package pgtest gives tests a real PostgreSQL and a fresh database per test:
// SLUICE_TEST_DATABASE_URL when set, otherwise a throwaway cluster (a copy of an initdb kept
// as a template per machine, see initData; postgres from /usr/lib/postgresql/*/bin) started
// once per test binary in a temporary directory, on a free port of 127.0.0.1, and removed when
// the binary's tests end (call Main from TestMain). Where no PostgreSQL exists the tests that
// need one skip, after one loud line.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-edge/sluice/internal/ramdir"
)

// EnvURL names the variable that points the tests at an existing server (a role that may
// create databases).
const EnvURL = "SLUICE_TEST_DATABASE_URL"

var (
	startOnce sync.Once
	server    *Cluster // nil: an external server (EnvURL) or none
	baseURL   string   // of the server's maintenance database; "" when there is none
	whyNot    error    // why there is no server
	loudOnce  sync.Once
	dbSeq     atomic.Int64
)

// Main runs the tests and then stops the cluster, if one was started. Unless -parallel is given,
// it runs eight parallel tests at a time: tests of a vault wait on PostgreSQL, sockets and
// deadlines far more than they compute, and the default (GOMAXPROCS) would leave the CPUs idle.
func Main(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(Run(m))
}

// Run is Main for a TestMain with more to do after the tests, and without its -parallel
// default: it returns the tests' exit code.
func Run(m *testing.M) int {
	code := m.Run()
	tmpl.drop()
	admin.close()
	if server != nil {
		server.stop()
	}
	return code
}

// Database returns the URL of a new, empty database, dropped when t ends. It skips t when no
// PostgreSQL can be had.
func Database(t testing.TB) string {
	t.Helper()
	needServer(t)
	return newDatabase(t, "")
}

// MigratedDatabase returns the URL of a new database holding what migrate makes of an empty
// one, dropped when t ends; it skips t when no PostgreSQL can be had. The first call runs
// migrate on a template database of the test binary; the others copy it, which costs the
// server a few file copies instead of a migration per test. Every call of a test binary must
// pass the same migrate.
func MigratedDatabase(t testing.TB, migrate func(ctx context.Context, url string) error) string {
	t.Helper()
	needServer(t)
	name, err := tmpl.get(migrate)
	if err != nil {
		t.Fatalf("pgtest: template database: %v", err)
	}
	return newDatabase(t, name)
}

// needServer starts the server on first use, and skips t when there is none.
func needServer(t testing.TB) {
	t.Helper()
	startOnce.Do(start)
	if baseURL == "" {
		loudOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "\n!!! pgtest: NO POSTGRESQL — SKIPPING EVERY POSTGRESQL TEST: %v (set %s or install postgresql)\n\n", whyNot, EnvURL)
		})
		t.Skipf("no PostgreSQL: %v", whyNot)
	}
}

// newDatabase creates a database copied from the template database from ("": PostgreSQL's
// template1), dropped when t ends, and returns its URL.
func newDatabase(t testing.TB, from string) string {
	t.Helper()
	name := fmt.Sprintf("sluice_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := admin.execFor(createDatabase(name, from)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() { admin.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	return withDatabase(baseURL, name)
}

// createDatabase makes the statement that creates name as a copy of from. From PostgreSQL 15
// on it copies the template's files (FILE_COPY) rather than writing every page of it to the
// WAL, the default, which costs the server about three times the CPU.
func createDatabase(name, from string) func(major int) string {
	return func(major int) string {
		q := "CREATE DATABASE " + name
		if from != "" {
			q += " TEMPLATE " + from
		}
		if major >= 15 {
			q += " STRATEGY = FILE_COPY"
		}
		return q
	}
}

// tmpl is the test binary's migrated template database.
var tmpl templateDB

type templateDB struct {
	mu   sync.Mutex
	name string // "" until made
}

// get returns the template's name, making it first if need be: a database migrated by
// migrate, closed to connections (PostgreSQL copies a database only while no one is connected).
func (d *templateDB) get(migrate func(ctx context.Context, url string) error) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.name != "" {
		return d.name, nil
	}
	name := fmt.Sprintf("sluice_test_%d_template", os.Getpid())
	if err := admin.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		return "", err
	}
	if err := admin.execFor(createDatabase(name, "")); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := migrate(ctx, withDatabase(baseURL, name)); err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	if err := admin.exec("ALTER DATABASE " + name + " WITH ALLOW_CONNECTIONS false"); err != nil {
		return "", err
	}
	d.name = name
	return name, nil
}

func (d *templateDB) drop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.name != "" {
		admin.exec("DROP DATABASE IF EXISTS " + d.name + " WITH (FORCE)")
		d.name = ""
	}
}

// admin is the one connection to the maintenance database that creates and drops the test
// databases: a connection costs the server a process (tens of ms of CPU on a small VM), two
// per test database were a third of a PostgreSQL test's cost.
var admin adminConn

type adminConn struct {
	mu    sync.Mutex
	conn  *pgx.Conn
	major int // the server's major version
}

// exec runs q, on a new connection when there is none yet or the last one broke (tests of
// outages stop and pause the server).
func (a *adminConn) exec(q string) error {
	return a.execFor(func(int) string { return q })
}

// execFor is exec of the statement query makes for the server's major version.
func (a *adminConn) execFor(query func(major int) string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		if a.conn == nil || a.conn.IsClosed() {
			c, err := pgx.Connect(ctx, baseURL)
			if err != nil {
				return fmt.Errorf("connect: %w", err)
			}
			a.conn = c
			v, _, _ := strings.Cut(c.PgConn().ParameterStatus("server_version"), ".")
			a.major, _ = strconv.Atoi(v)
		}
		_, err := a.conn.Exec(ctx, query(a.major))
		var pe *pgconn.PgError
		if attempt == 1 && errors.As(err, &pe) && pe.Code == "42P04" {
			return nil // duplicate_database: the first attempt created it before its connection broke
		}
		if err == nil || attempt == 1 || !a.conn.IsClosed() {
			return err
		}
	}
}

func (a *adminConn) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn != nil {
		a.conn.Close(context.Background())
		a.conn = nil
	}
}

// Server is the cluster pgtest started (nil with SLUICE_TEST_DATABASE_URL or none): tests of
// outages stop and start it.
func Server() *Cluster { return server }

// withDatabase is u with its database name replaced.
func withDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + name
	return p.String()
}

func start() {
	if u := os.Getenv(EnvURL); u != "" {
		baseURL = u
		return
	}
	c, err := startCluster(testSettings...)
	if err != nil {
		whyNot = err
		return
	}
	server, baseURL = c, c.url("postgres")
}

// testSettings are the settings of the cluster of a test binary beyond those of every cluster
// (benchmarks keep PostgreSQL's defaults). 16 MB of shared buffers hold a test's databases; the
// default 128 MB cost every start of a cluster a third more CPU, and every checkpoint (two per
// database made) a scan of eight times the buffers.
var testSettings = []string{"shared_buffers=16MB"}

// Cluster is a PostgreSQL cluster in a temporary directory.
type Cluster struct {
	bin, dir, data string
	settings       []string // -c name=value, beyond Start's
	port           int
	cred           *syscall.Credential // the postgres user's, when the process is root
	server         *exec.Cmd           // the running postmaster, a child of the test binary
	exited         chan struct{}       // closed when it exits
}

// binDir finds the newest PostgreSQL installed under /usr/lib/postgresql.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")
	}
	version := func(d string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); return n }
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	return found[len(found)-1], nil
}

func startCluster(settings ...string) (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	removeDeadClusters()
	dir, err := os.MkdirTemp(ramdir.Parent(), "sluice-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data"), settings: settings}
	if os.Geteuid() == 0 { // initdb and postgres refuse to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	tmpl, err := c.initData()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	err = c.startOnFreePort()
	if err != nil && tmpl != "" {
		// A template damaged since it was saved (a cleaner of old files in /tmp): a new one.
		os.RemoveAll(tmpl)
		os.RemoveAll(c.data)
		if _, err = c.initData(); err == nil {
			err = c.startOnFreePort()
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// startOnFreePort starts the server on a free port, trying three.
func (c *Cluster) startOnFreePort() error {
	var err error
	for range 3 {
		if c.port, err = freePort(); err == nil {
			if err = c.Start(); err == nil {
				return nil
			}
		}
	}
	return err
}

// command prepares one of the cluster's programs, as the postgres user when the process is
// root. It dies with the test binary (a panicking test must not leave a server running).
func (c *Cluster) command(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

func (c *Cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Start starts the server (again, on the same port) and waits until it takes connections.
func (c *Cluster) Start() error {
	log, err := os.OpenFile(filepath.Join(c.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o666)
	if err != nil {
		return err
	}
	defer log.Close()
	// Durability settings off: tests check what the vault does, not PostgreSQL's fsync. Dynamic
	// shared memory in files of the data directory (mmap), not /dev/shm's POSIX segments: a
	// cluster a test kills leaves those behind, in the machine's RAM, for good.
	args := []string{"-D", c.data, "-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(c.port),
		"-k", c.dir, "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
		"-c", "dynamic_shared_memory_type=mmap"}
	for _, s := range c.settings {
		args = append(args, "-c", s)
	}
	cmd := c.command("postgres", args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c.server, c.exited = cmd, exited
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
			return fmt.Errorf("postgres exited: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			return fmt.Errorf("postgres did not take connections within 60 s: %v", err)
		}
	}
}

// Stop stops the server at once, as a crash would (SIGQUIT: immediate shutdown), keeping its
// files for Start.
func (c *Cluster) Stop() error {
	if c.server == nil {
		return nil
	}
	c.server.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.server.Process.Kill()
		<-c.exited
	}
	c.server = nil
	return nil
}

func (c *Cluster) stop() {
	c.Stop()
	os.RemoveAll(c.dir)
}

// removeDeadClusters removes the directories of clusters whose server is gone (a test binary
// killed before it could clean up); running ones belong to other test binaries.
func removeDeadClusters() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "sluice-pg-*"))
	ram, _ := filepath.Glob(filepath.Join(ramdir.Dir, "sluice-pg-*"))
	dirs = append(dirs, ram...)
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < 10*time.Minute {
			continue // maybe another binary's, still being set up
		}
		b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid"))
		if err == nil {
			if pid, _, _ := strings.Cut(string(b), "\n"); pid != "" {
				if _, err := os.Stat("/proc/" + strings.TrimSpace(pid)); err == nil {
					continue
				}
			}
		}
		os.RemoveAll(d)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Dump returns every row of every table of the database at u as PostgreSQL prints it (bytea
// as hex), for at-rest checks.
func Dump(t testing.TB, u string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: dump: %v", err)
	}
	defer conn.Close(ctx)
	return DumpVia(t, conn)
}

// Querier is a connection or a pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// DumpVia is Dump on a connection the test has already (a connection costs the server a
// process). The tables are those of the catalog, so a new one is never missed.
func DumpVia(t testing.TB, q Querier) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := q.Query(ctx, `SELECT quote_ident(c.relname) FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`)
	if err != nil {
		t.Fatalf("pgtest: dump: %v", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("pgtest: dump: %v", err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := q.Query(ctx, "SELECT r::text FROM "+table+" r")
		if err != nil {
			t.Fatalf("pgtest: dump %s: %v", table, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("pgtest: dump %s: %v", table, err)
		}
		fmt.Fprintf(&b, "-- %s\n%s\n", table, strings.Join(lines, "\n"))
	}
	return b.String()
}

// PgDump returns pg_dump's plain SQL dump of the database at u, made by the pg_dump of the
// newest installed PostgreSQL, run as the cluster's owner when pgtest started the cluster.
func PgDump(t testing.TB, u string) string {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		t.Skipf("pgtest: no pg_dump: %v", err)
	}
	cmd := exec.Command(filepath.Join(bin, "pg_dump"), "--no-owner", "--dbname", u)
	if server != nil {
		cmd = server.command("pg_dump", "--no-owner", "--dbname", u)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pgtest: pg_dump: %v: %s", err, stderr.String())
	}
	return string(out)
}

// Throwaway starts a cluster outside a test (benchmarks): it returns the URL of its maintenance
// database, the postmaster's pid (to read its CPU time) and a function that stops the cluster
// and removes its files. The cluster dies with the calling process.
func Throwaway() (url string, pid int, stop func(), err error) {
	c, err := startCluster()
	if err != nil {
		return "", 0, nil, err
	}
	return c.url("postgres"), c.server.Process.Pid, c.stop, nil
}

// Pause freezes the server and its backends (SIGSTOP): connections stay open and nothing
// answers, as with a hung host or a partition; Resume lets them run again.
func (c *Cluster) Pause() error { return c.signalAll(syscall.SIGSTOP) }

// Resume undoes Pause.
func (c *Cluster) Resume() error { return c.signalAll(syscall.SIGCONT) }

// procState is the state letter of process pid ("T": stopped), or "" when it is gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprint("/proc/", pid, "/stat"))
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 {
		return f[0]
	}
	return ""
}

// signalAll sends sig to the postmaster and then to every process it started. The postmaster
// first: its children are listed once it is stopped, so that a backend it forks meanwhile (a
// connection opening as the cluster freezes) cannot escape the list and go on answering.
func (c *Cluster) signalAll(sig syscall.Signal) error {
	if c.server == nil {
		return fmt.Errorf("pgtest: the server is not running")
	}
	pid := c.server.Process.Pid
	if err := syscall.Kill(pid, sig); err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Second); sig == syscall.SIGSTOP && procState(pid) != "T" && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // a fork under way ends before the postmaster stops
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name (in parentheses, which may hold spaces): state, ppid.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			syscall.Kill(child, sig)
		}
	}
	return nil
}
