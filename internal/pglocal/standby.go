package pglocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// StandbyOptions configure StartStandby. The zero value is usable.
type StandbyOptions struct {
	// SlotName is the physical replication slot created on the primary for
	// the standby (dropped again by the standby's Stop); empty means a
	// generated name. At most 63 characters of [a-z0-9_].
	SlotName string
	// Settings are extra postgresql.conf parameters for the standby, applied
	// after those it inherits from the primary (see Options.Settings).
	Settings map[string]string
	// Log, as Options.Log, receives the standby's server log.
	Log io.Writer
	// DBName, when set, goes into primary_conninfo: a standby that
	// synchronizes failover slots (17+, sync_replication_slots = on in
	// Settings) connects to the primary's database with it.
	DBName string
}

var slotName = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// standbyWait bounds the wait for the standby to stream when ctx has no
// earlier deadline.
const standbyWait = 60 * time.Second

// StartStandby starts a streaming hot standby of primary in a fresh temp dir
// and returns once it accepts connections and streams from the primary. It
// has its own port, socket directory and cleanup watchdog; Stop shuts it
// down, removes its directory and drops its physical slot on the primary.
//
// It works without pg_basebackup (relocatable builds such as the npm ones
// lack it): the low-level backup functions on the primary bracket a file
// copy of its data directory, and a physical slot reserves the WAL the
// standby needs from the start. The standby inherits the primary's settings
// and TLS certificate, with hot_standby_feedback on, and streams over the
// primary's unix socket as the superuser (standby.signal and
// primary_conninfo on 12+, recovery.conf on 10-11). Tablespaces are not
// supported. ctx bounds the start only; the server outlives it.
func StartStandby(ctx context.Context, primary *Cluster, opt StandbyOptions) (_ *Cluster, err error) {
	if primary == nil || primary.isStopped() {
		return nil, errors.New("start standby: primary is not running")
	}
	if err := validateSettings(opt.Settings); err != nil {
		return nil, err
	}
	slot := opt.SlotName
	if slot == "" {
		suffix, err := randomHex(6)
		if err != nil {
			return nil, err
		}
		slot = "cdcpf_standby_" + suffix
	}
	if !slotName.MatchString(slot) {
		return nil, fmt.Errorf("standby slot name %q: want 1-63 characters of [a-z0-9_]", slot)
	}

	svc, err := lookupServiceUser()
	if err != nil {
		return nil, err
	}
	r := &runner{user: svc, env: childEnv(siblingLibDir(primary.BinDir))}
	dir, err := r.makeTempDir("cdcpf-standby-")
	if err != nil {
		return nil, err
	}
	r.dir = dir
	primary.mu.Lock()
	settings := maps.Clone(primary.settings)
	primary.mu.Unlock()
	c := &Cluster{
		BinDir:        primary.BinDir,
		Dir:           dir,
		DataDir:       filepath.Join(dir, "data"),
		SocketDir:     dir,
		LogFile:       filepath.Join(dir, "postgres.log"),
		Host:          "127.0.0.1",
		SuperUser:     primary.SuperUser,
		SuperPassword: primary.SuperPassword, // the role is replicated
		TLS:           primary.TLS,
		WalLevel:      primary.WalLevel,
		run:           r,
		settings:      settings,
	}
	defer func() {
		if err != nil {
			// Best effort: the start error is what the caller needs.
			_ = c.Stop()
		}
	}()
	if c.reaper, err = startReaper(filepath.Join(c.DataDir, "postmaster.pid"), "QUIT", dir); err != nil {
		return nil, err
	}
	if c.TLS {
		if err := c.copyCert(primary); err != nil {
			return nil, err
		}
	}
	// From here on Stop drops the slot, even when the backup fails half way.
	c.primary, c.PrimarySlot = primary, slot
	if err := c.baseBackup(ctx, primary); err != nil {
		return nil, fmt.Errorf("start standby: %w", err)
	}
	if err := c.writeRecoveryConf(primary, opt.DBName); err != nil {
		return nil, err
	}
	for k, v := range lowerKeys(opt.Settings) {
		c.settings[k] = v
	}
	if opt.Log != nil {
		c.tail = startTailer(c.LogFile, opt.Log)
	}
	for attempt := 1; ; attempt++ {
		if c.Port, err = freePort(ctx); err != nil {
			return nil, err
		}
		err = c.startServer(ctx)
		if err == nil {
			break
		}
		if attempt == startTries || !errors.Is(err, errAddrInUse) {
			return nil, fmt.Errorf("start standby: %w", err)
		}
	}
	if err := c.waitStreaming(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// copyCert gives the standby its own copy of the primary's certificate and
// key, so it serves TLS with the same CA and needs nothing from the
// primary's directory.
func (c *Cluster) copyCert(primary *Cluster) error {
	cert := filepath.Join(c.Dir, "server.crt")
	if err := c.copyFile(primary.CACertFile, cert, false); err != nil {
		return fmt.Errorf("copy the primary's certificate: %w", err)
	}
	if err := c.copyFile(filepath.Join(primary.Dir, "server.key"), filepath.Join(c.Dir, "server.key"), false); err != nil {
		return fmt.Errorf("copy the primary's key: %w", err)
	}
	c.CACertFile = cert
	return nil
}

// baseBackup creates the physical slot on the primary and copies its data
// directory between the low-level backup calls (non-exclusive on every
// version 10-18), then writes the backup label.
func (c *Cluster) baseBackup(ctx context.Context, primary *Cluster) error {
	conn, err := primary.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_create_physical_replication_slot($1, true)", c.PrimarySlot); err != nil {
		return fmt.Errorf("create physical slot %s: %w", c.PrimarySlot, err)
	}
	start, stop := "SELECT pg_backup_start('cdcpreflight standby', true)",
		"SELECT labelfile, coalesce(spcmapfile, '') FROM pg_backup_stop(false)"
	if primary.VersionNum < 150000 {
		start, stop = "SELECT pg_start_backup('cdcpreflight standby', true, false)",
			"SELECT labelfile, coalesce(spcmapfile, '') FROM pg_stop_backup(false, false)"
	}
	if _, err := conn.Exec(ctx, start); err != nil {
		return fmt.Errorf("start backup: %w", err)
	}
	copyErr := c.copyDataDir(primary.DataDir)
	var label, spcmap string
	if err := conn.QueryRow(ctx, stop).Scan(&label, &spcmap); err != nil {
		return fmt.Errorf("stop backup: %w", errors.Join(err, copyErr))
	}
	if copyErr != nil {
		return fmt.Errorf("copy %s: %w", primary.DataDir, copyErr)
	}
	if spcmap != "" {
		return errors.New("the primary has tablespaces, which StartStandby does not support")
	}
	return c.run.writeFile(filepath.Join(c.DataDir, "backup_label"), []byte(label), 0o600)
}

// Directories whose contents a base backup leaves out (the directories
// themselves must exist), and per-server files it does not copy.
var (
	backupSkipContents = map[string]bool{"pg_wal": true, "pg_replslot": true, "pg_stat_tmp": true, "pg_dynshmem": true,
		"pg_notify": true, "pg_serial": true, "pg_snapshots": true, "pg_subtrans": true}
	backupSkipFiles = map[string]bool{"postmaster.pid": true, "postmaster.opts": true, "backup_label": true,
		"tablespace_map": true, "standby.signal": true, "recovery.signal": true, "recovery.conf": true}
)

// copyDataDir copies a live data directory into c.DataDir, owned by the
// service user; files the server removes meanwhile are skipped.
func (c *Cluster) copyDataDir(src string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we copy, as a live server does
			}
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(c.DataDir, rel)
		parent := filepath.Dir(rel)
		switch {
		case d.IsDir():
			if err := c.mkdir(dst); err != nil {
				return err
			}
			if rel == "pg_wal" {
				if err := c.mkdir(filepath.Join(dst, "archive_status")); err != nil {
					return err
				}
			}
			if backupSkipContents[rel] {
				return fs.SkipDir
			}
			return nil
		case backupSkipFiles[rel] || backupSkipContents[parent] || filepath.Base(rel) == "pg_internal.init":
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file or directory", path)
		}
		return c.copyFile(path, dst, true) // a file removed while we copy is skipped
	})
}

func (c *Cluster) mkdir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return c.run.chown(dir)
}

// copyFile copies src to dst (mode 0600, owned by the service user); a
// missing src is skipped when missingOK.
func (c *Cluster) copyFile(src, dst string, missingOK bool) error {
	in, err := os.Open(src)
	if missingOK && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close() // the copy error is what matters
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return c.run.chown(dst)
}

// writeRecoveryConf makes the copy a hot standby streaming from the
// primary's unix socket (trusted for replication) through the slot.
func (c *Cluster) writeRecoveryConf(primary *Cluster, dbname string) error {
	conninfo := fmt.Sprintf("host=%s port=%d user=%s application_name=%s",
		quoteDSNValue(primary.SocketDir), primary.Port, quoteDSNValue(primary.SuperUser), c.PrimarySlot)
	if dbname != "" {
		conninfo += " dbname=" + quoteDSNValue(dbname)
	}
	c.settings["hot_standby"] = "on"
	c.settings["hot_standby_feedback"] = "on"
	if primary.VersionNum < 120000 {
		conf := fmt.Sprintf("# generated by cdcpreflight pglocal\nstandby_mode = 'on'\nprimary_conninfo = %s\nprimary_slot_name = %s\n",
			quoteLiteral(conninfo), quoteLiteral(c.PrimarySlot))
		return c.run.writeFile(filepath.Join(c.DataDir, "recovery.conf"), []byte(conf), 0o600)
	}
	c.settings["primary_conninfo"] = conninfo
	c.settings["primary_slot_name"] = c.PrimarySlot
	return c.run.writeFile(filepath.Join(c.DataDir, "standby.signal"), nil, 0o600)
}

// waitStreaming waits until the standby's WAL receiver streams from the
// primary.
func (c *Cluster) waitStreaming(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, standbyWait)
	defer cancel()
	logStart := fileSize(c.LogFile)
	conn, err := c.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var status string
		err := conn.QueryRow(ctx, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), '')").Scan(&status)
		if err == nil && status == "streaming" {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("WAL receiver status %q", status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("standby not streaming from the primary: %w (last: %w)%s", ctx.Err(), err, fileTail(c.LogFile, logStart))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dropPrimarySlot drops a standby's physical slot on its primary once the
// standby's WAL sender has let go of it. A stopped primary took its slots
// with it.
func (c *Cluster) dropPrimarySlot(ctx context.Context) error {
	if c.primary == nil || c.PrimarySlot == "" || c.primary.isStopped() {
		return nil
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := c.primary.Exec(ctx, "postgres",
			"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = "+quoteLiteral(c.PrimarySlot))
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || time.Now().After(deadline) { // 55006: still active
			if err != nil {
				return fmt.Errorf("drop the standby's slot %s on the primary: %w", c.PrimarySlot, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drop the standby's slot %s on the primary: %w (last error: %w)", c.PrimarySlot, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
