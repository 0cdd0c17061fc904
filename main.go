// Command sluice is the tokenization edge: `sluice serve`, `rekey`, `backup`, `restore`, `copy`, `version`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-edge/sluice/server"
)

const usage = `usage: sluice <command> [flags]

commands:
  serve     run the edge (see README.md for flags; --database-url postgres://… keeps the
            vault in PostgreSQL, shared by any number of nodes)
  rekey     rotate the master key: --data-dir DIR (or --database-url postgres://…), current key
            from SLUICE_MASTER_KEY or --master-key-file, new key from SLUICE_NEW_MASTER_KEY or
            --new-master-key-file
  backup    --out FILE: a consistent, encrypted copy of the Badger vault in --data-dir, taken
            by the running edge (through --admin-listen) while it serves, or directly when stopped
  restore   --in FILE --data-dir DIR: a new data dir from a backup (same master key)
  copy      --data-dir DIR --to postgres://…: the Badger vault into PostgreSQL, verified;
            run it again to finish an interrupted copy (it writes only what is missing)
  version   print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "version", "--version", "-v":
		fmt.Println("sluice", server.Version)
	case "serve":
		cfg, err := server.ParseConfig(os.Args[2:], os.Getenv, os.Stdout)
		if err != nil {
			fail(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := server.Run(ctx, cfg); err != nil {
			fail(err)
		}
	case "backup":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := server.Backup(ctx, os.Args[2:], os.Getenv, os.Stdout); err != nil {
			fail(err)
		}
	case "restore":
		if err := server.Restore(os.Args[2:], os.Getenv, os.Stdout); err != nil {
			fail(err)
		}
	case "copy":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := server.Copy(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fail(err)
		}
	case "rekey":
		if err := server.Rekey(os.Args[2:], os.Getenv); err != nil {
			fail(err)
		}
		fmt.Println("sluice: master key rotated; start the edge with the new key")
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sluice:", err)
	os.Exit(1)
}
