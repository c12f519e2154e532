package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// ErrReadOnly is a write to a store opened read-only (its database
// could not be written when it was opened).
var ErrReadOnly = errors.New("store: the database is read-only: results cannot be stored")

// Problem says in a word or two what kept a store from answering, for
// people and metrics: "read-only", "full", "unreachable", "timed out" or
// "failing". It never carries the error's text, which may name files or
// hosts.
func Problem(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrReadOnly) {
		return "read-only"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		// Primary result codes are the low byte of the extended ones.
		switch se.Code() & 0xff {
		case 8: // SQLITE_READONLY
			return "read-only"
		case 13: // SQLITE_FULL
			return "full"
		case 10, 14: // SQLITE_IOERR, SQLITE_CANTOPEN: the file cannot be written or opened
			return "not writable"
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return "busy"
		}
		return "failing"
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "25006": // read_only_sql_transaction (a standby, or default_transaction_read_only)
			return "read-only"
		case pe.Code == "53100": // disk_full
			return "full"
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "57P"): // connection exceptions, the server shutting down
			return "unreachable"
		}
		return "failing"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return "timed out"
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "unreachable"
	case errors.Is(err, syscall.ENOSPC):
		return "full"
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return "not writable"
	}
	return "failing"
}

// readOnlyAtOpen reports whether an error opening or migrating a store
// means its database cannot be written, so it may still be read.
func readOnlyAtOpen(err error) bool {
	switch Problem(err) {
	case "read-only", "not writable", "full":
		return true
	}
	return false
}

// errNoFile is a SQLite DSN without a file.
var errNoFile = errors.New("no SQLite file given")

// BadDSN reports whether an error from Open is the DSN's own: it cannot be
// parsed, or names no file. Any other error opening a store is the
// environment's: a database that cannot be reached or opened.
func BadDSN(err error) bool {
	var pe *pgconn.ParseConfigError
	return errors.As(err, &pe) || errors.Is(err, errNoFile)
}
