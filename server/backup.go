package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-edge/sluice/store"
)

// serveBackup (POST /backup on the admin listener) streams a backup of the running vault, for
// `sluice backup`: the Badger directory is locked by this process, so the backup is taken
// here. Only a caller holding the master key may ask (store.BackupAuth).
func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request) {
	want := "Bearer " + store.BackupAuth(s.cfg.MasterKey)
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
		http.Error(w, "backup: the request does not carry this vault's backup credential (sluice backup sends it, from the master key)", http.StatusUnauthorized)
		return
	}
	if s.cfg.Database.URL != "" {
		http.Error(w, "backup: this edge keeps its vault in PostgreSQL: back it up with PostgreSQL's own tools", http.StatusConflict)
		return
	}
	s.backups.RLock()
	defer s.backups.RUnlock()
	if s.background.Err() != nil {
		http.Error(w, "backup: the edge is stopping", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	rc := http.NewResponseController(w)
	defer context.AfterFunc(s.background, func() { // Close ends it (a write blocked on a slow client too), then waits for it
		cancel()
		rc.SetWriteDeadline(time.Now())
	})()
	w.Header().Set("Content-Type", "application/octet-stream")
	stats, err := store.WriteBackup(ctx, s.raw, s.cfg.MasterKey, w)
	if err != nil {
		s.log.Warn("backup failed", "err", err)
		panic(http.ErrAbortHandler) // cut the stream: the client finds no end chunk and refuses it
	}
	s.log.Info("backup written", "bytes", stats.Bytes, "audit_segments", stats.Segments)
}

// commandFlags are the flags backup, restore and copy share with serve: where the vault is
// and its master key.
type commandFlags struct {
	fs      *flag.FlagSet
	dataDir *string
	keyFile *string
	dev     *bool
}

func newCommandFlags(name string) *commandFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &commandFlags{fs: fs,
		dataDir: fs.String("data-dir", "", "Badger directory"),
		keyFile: fs.String("master-key-file", "", "file with the master key"),
		dev:     fs.Bool("dev", false, "the development key in <data-dir>/dev-master.key"),
	}
}

// parse reads args and fills what the flags leave from the environment; the data directory
// defaults to ./data when withDefaultDir.
func (c *commandFlags) parse(args []string, getenv func(string) string, withDefaultDir bool) error {
	if err := c.fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", c.fs.Name(), err)
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", c.fs.Name(), c.fs.Arg(0))
	}
	if *c.dataDir == "" {
		*c.dataDir = getenv("SLUICE_DATA_DIR")
	}
	if *c.dataDir == "" && withDefaultDir {
		*c.dataDir = "./data"
	}
	*c.dev = *c.dev || getenv("SLUICE_DEV") == "1"
	return nil
}

// masterKey is the key from --master-key-file or SLUICE_MASTER_KEY (the flag wins), or with
// --dev the development key of keyDir (never created here: a new key opens nothing).
func (c *commandFlags) masterKey(getenv func(string) string, keyDir string) ([]byte, error) {
	if *c.keyFile == "" && getenv("SLUICE_MASTER_KEY") == "" && *c.dev {
		if keyDir == "" {
			return nil, fmt.Errorf("%s: --dev: give the development key with --master-key-file <its data dir>/dev-master.key", c.fs.Name())
		}
		path := filepath.Join(keyDir, "dev-master.key")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: --dev: no development key in %s", c.fs.Name(), path)
		}
		return decodeKey(string(b), path)
	}
	cfg := Config{MasterKeyFile: *c.keyFile}
	k, err := resolveMasterKey(&cfg, getenv("SLUICE_MASTER_KEY"), *c.keyFile == "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.fs.Name(), err)
	}
	return k, nil
}

// Backup is `sluice backup --out FILE`: a backup of the vault in --data-dir, taken by the
// running edge (through its admin listener) when one holds the directory, else directly. The
// file is new (an existing one is refused) and is checked chunk by chunk before the command
// succeeds; a failed backup leaves no file.
func Backup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := newCommandFlags("backup")
	out := c.fs.String("out", "", "the backup file to write")
	adminAddr := c.fs.String("admin-listen", "", "the running edge's admin listener")
	if err := c.parse(args, getenv, true); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("backup: --out FILE is required")
	}
	if *adminAddr == "" {
		*adminAddr = getenv("SLUICE_ADMIN_LISTEN")
	}
	if *adminAddr == "" {
		*adminAddr = "127.0.0.1:9090"
	}
	key, err := c.masterKey(getenv, *c.dataDir)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w (the backup file must be new)", err)
	}
	stats, how, err := writeBackupFile(ctx, f, *c.dataDir, *adminAddr, key)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "sluice: backup of %s written to %s (%s): %d bytes, vault %d, audit journal %d in %d segments; restore it with the same master key\n",
		*c.dataDir, *out, how, stats.Bytes, stats.VaultBytes, stats.AuditBytes, stats.Segments)
	return nil
}

// writeBackupFile writes the backup to f, directly or through the running edge, and says how.
func writeBackupFile(ctx context.Context, f *os.File, dir, adminAddr string, key []byte) (store.BackupStats, string, error) {
	stats, err := store.BackupDir(ctx, dir, key, f)
	switch {
	case errors.Is(err, store.ErrWrongKey):
		return stats, "", fmt.Errorf("backup: the master key does not open %s", dir)
	case errors.Is(err, store.ErrInUse):
		stats, err = onlineBackup(ctx, f, adminAddr, key)
		return stats, "online, from the edge at " + adminAddr, err
	case err != nil:
		return stats, "", fmt.Errorf("backup: %w", err)
	}
	return stats, "offline", nil
}

// onlineBackup asks the edge at adminAddr for its backup and writes it to w, checking it.
func onlineBackup(ctx context.Context, w io.Writer, adminAddr string, key []byte) (store.BackupStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+adminAddr+"/backup", nil)
	if err != nil {
		return store.BackupStats{}, fmt.Errorf("backup: admin listener %q: %w", adminAddr, err)
	}
	req.Header.Set("Authorization", "Bearer "+store.BackupAuth(key))
	res, err := (&http.Client{Timeout: 24 * time.Hour}).Do(req)
	if err != nil {
		return store.BackupStats{}, fmt.Errorf("backup: a running sluice holds the data directory, and its admin listener (%s; --admin-listen) does not answer: %w", adminAddr, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		if res.StatusCode == http.StatusUnauthorized {
			return store.BackupStats{}, errors.New("backup: the running edge refused: the master key is not its master key")
		}
		return store.BackupStats{}, fmt.Errorf("backup: the running edge answered %d: %s", res.StatusCode, msg)
	}
	stats, err := store.VerifyBackup(io.TeeReader(res.Body, w), key)
	if err != nil {
		return stats, fmt.Errorf("backup: the stream from the edge is incomplete: %w", err)
	}
	return stats, nil
}

// Restore is `sluice restore --in FILE --data-dir DIR`: a new vault in DIR (which must not
// exist or be empty) from a backup, opening with the master key the backup was written with.
func Restore(args []string, getenv func(string) string, stdout io.Writer) error {
	c := newCommandFlags("restore")
	in := c.fs.String("in", "", "the backup file to read")
	if err := c.parse(args, getenv, false); err != nil {
		return err
	}
	if *in == "" || *c.dataDir == "" {
		return errors.New("restore: --in FILE and --data-dir DIR are required")
	}
	key, err := c.masterKey(getenv, "")
	if err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	stats, err := store.RestoreBackup(f, *c.dataDir, key)
	switch {
	case errors.Is(err, store.ErrWrongKey):
		return fmt.Errorf("restore: the master key does not open %s (it was written under another key); nothing was written", *in)
	case err != nil:
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "sluice: restored %s into %s (vault %d bytes, audit journal %d in %d segments); start the edge on it with the same master key\n",
		*in, *c.dataDir, stats.VaultBytes, stats.AuditBytes, stats.Segments)
	return nil
}

// Copy is `sluice copy --data-dir DIR --to postgres://…`: the Badger vault into PostgreSQL,
// in verified batches; progress goes to progress, the counts to stdout. Interrupted, the same
// command finishes the job.
func Copy(ctx context.Context, args []string, getenv func(string) string, stdout, progress io.Writer) error {
	c := newCommandFlags("copy")
	to := c.fs.String("to", "", "postgres://… the database to copy into")
	dbURL := c.fs.String("database-url", "", "the same as --to")
	if err := c.parse(args, getenv, true); err != nil {
		return err
	}
	url := *to
	for _, u := range []string{*dbURL, getenv("SLUICE_DATABASE_URL")} {
		if url == "" {
			url = u
		}
	}
	if url == "" {
		return errors.New("copy: --to postgres://… (or --database-url, SLUICE_DATABASE_URL) is required")
	}
	key, err := c.masterKey(getenv, *c.dataDir)
	if err != nil {
		return err
	}
	shown := map[string]int{}
	counts, err := store.CopyToPostgres(ctx, *c.dataDir, key, url, store.CopyOptions{Progress: func(kind string, done int) {
		if done-shown[kind] >= 10000 {
			shown[kind] = done
			fmt.Fprintf(progress, "sluice: copy: %d %s copied\n", done, kind)
		}
	}})
	switch {
	case err == nil:
	case errors.Is(err, store.ErrWrongKey):
		return fmt.Errorf("copy: the master key does not open %s", *c.dataDir)
	case errors.Is(err, store.ErrNotFound) && counts == nil:
		return fmt.Errorf("copy: %w", err)
	case errors.Is(err, store.ErrInUse):
		return fmt.Errorf("copy: %s is in use by a running sluice: stop it (or copy from a `sluice restore` of its backup)", *c.dataDir)
	case ctx.Err() != nil:
		return errors.New("copy: interrupted; what was copied is kept: run the same command again to finish")
	default:
		return fmt.Errorf("copy: %w; run the same command again to finish once fixed", err)
	}
	fmt.Fprintf(stdout, "sluice: copied %s into the database; each record below was verified there\n", *c.dataDir)
	for _, n := range counts {
		fmt.Fprintf(stdout, "  %-20s %9d  (%d written, %d already there and equal)\n", n.Kind, n.Found, n.Written, n.Found-n.Written)
	}
	return nil
}
