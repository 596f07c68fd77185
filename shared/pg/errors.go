package pg

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tandemcrm/tandem/shared/errs"
)

const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
	codeLockNotAvailable    = "55P03"
	codeQueryCanceled       = "57014"
)

// Classify maps a PostgreSQL error to an errs kind, keeping it as the cause so that
// errors.As still finds the *pgconn.PgError. Domain code usually checks the specific
// constraint first (IsUniqueViolation) and returns its own code; Classify is the floor.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if errs.As(err) != nil {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.Wrap(err, errs.KindNotFound, "not_found", "not found")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(err, errs.KindTimeout, "db.timeout", "the database did not answer in time")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		var connErr *pgconn.ConnectError
		if errors.As(err, &connErr) {
			return errs.Wrap(err, errs.KindUnavailable, "db.unavailable", "the database is unavailable")
		}
		return err
	}
	switch pgErr.Code {
	case codeUniqueViolation:
		return errs.Wrap(err, errs.KindConflict, "duplicate", "already exists")
	case codeForeignKeyViolation:
		return errs.Wrap(err, errs.KindUnprocessable, "reference_invalid", "refers to something that does not exist")
	case codeCheckViolation, codeNotNullViolation:
		return errs.Wrap(err, errs.KindInvalid, "invalid_input", "breaks a data rule")
	case codeSerialization, codeDeadlock, codeLockNotAvailable:
		return errs.Wrap(err, errs.KindUnavailable, "db.contention", "busy, try again")
	case codeQueryCanceled:
		return errs.Wrap(err, errs.KindTimeout, "db.timeout", "the database did not answer in time")
	}
	return err
}

// IsUniqueViolation reports whether err is a unique violation of the named constraint
// (any constraint when name is "").
func IsUniqueViolation(err error, constraint string) bool {
	return isViolation(err, codeUniqueViolation, constraint)
}

// IsForeignKeyViolation is IsUniqueViolation for foreign keys.
func IsForeignKeyViolation(err error, constraint string) bool {
	return isViolation(err, codeForeignKeyViolation, constraint)
}

// IsCheckViolation is IsUniqueViolation for check constraints.
func IsCheckViolation(err error, constraint string) bool {
	return isViolation(err, codeCheckViolation, constraint)
}

func isViolation(err error, code, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}
