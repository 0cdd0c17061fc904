package pgtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// TestDatabasesAreApart: each test database starts empty; a table made in one is not in another.
func TestDatabasesAreApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := Database(t), Database(t)
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	if _, err := cb.Exec(ctx, "SELECT * FROM only_in_a"); err == nil {
		t.Fatal("a table of one test database is in another")
	}
}

// TestClusterDiesWithItsTestBinary: a test binary killed mid-test (kill -9, a panic) leaves no
// PostgreSQL server running behind it.
func TestClusterDiesWithItsTestBinary(t *testing.T) {
	t.Parallel()
	if os.Getenv("PGTEST_HOLD") != "" {
		Database(t)
		b, _ := os.ReadFile(server.data + "/postmaster.pid")
		var pid int
		fmt.Sscanf(string(b), "%d", &pid)
		fmt.Printf("HOLDING %s %d\n", server.dir, pid)
		time.Sleep(time.Minute)
		return
	}
	if os.Getenv(EnvURL) != "" {
		t.Skip("an external server: pgtest starts none")
	}
	if _, err := binDir(); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestClusterDiesWithItsTestBinary$", "-test.v")
	cmd.Env = append(os.Environ(), "PGTEST_HOLD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var dir string
	var pid int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "HOLDING %s %d", &dir, &pid); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatal("the helper did not start a cluster")
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprint("/proc/", pid)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres %d of %s outlived its killed test binary", pid, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.RemoveAll(dir)
}

// TestPgDumpWritesByteaAsHex: PgDump is pg_dump's plain dump, with bytea in COPY's escaped hex
// form (\\x…), which the at-rest scans of package main decode.
func TestPgDumpWritesByteaAsHex(t *testing.T) {
	ctx := context.Background()
	u := Database(t)
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE TABLE sealed (v bytea); INSERT INTO sealed VALUES ('\\x00c0ffee'::bytea)"); err != nil {
		t.Fatal(err)
	}
	if dump := PgDump(t, u); !strings.Contains(dump, "COPY public.sealed") || !strings.Contains(dump, `\\x00c0ffee`) {
		t.Fatalf("dump:\n%s", dump)
	}
}
