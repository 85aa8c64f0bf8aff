package fiecompany

import (
	"time"

	"redengine/commands"
	"redengine/errs"
	"redengine/fie"
)

// ImportCategory is the category of file-import streams:
// "fieimport-<sha256 of the file>".
const ImportCategory = "fieimport"

// FileImported: a FIE file was accepted and all its records are on their
// company streams. It is appended last, so its position is after every
// record of the file; a file whose import stream exists is a repeat.
type FileImported struct {
	Hash      string   `json:"hash"`
	FileDate  fie.Date `json:"fileDate"`
	Bytes     int      `json:"bytes"`
	Companies int      `json:"companies"`
	Workers   int      `json:"workers"`
	Records   int      `json:"records"`
}

// ImportState is an import stream as its event left it.
type ImportState struct {
	Imported   bool
	File       FileImported
	ImportedAt time.Time
	ImportedBy string
}

var importCodec = commands.NewCodec(
	commands.Type[FileImported](TypeFileImported, 1),
)

// ImportAggregate is the file-import stream; its ID is the file's hash.
func ImportAggregate() commands.Aggregate[ImportState] {
	return commands.Aggregate[ImportState]{Category: ImportCategory, Codec: importCodec, Evolve: EvolveImport}
}

// EvolveImport applies one event.
func EvolveImport(s ImportState, e commands.Event) ImportState {
	if ev, ok := e.Data.(FileImported); ok {
		s = ImportState{Imported: true, File: ev, ImportedAt: e.Metadata.OccurredAt, ImportedBy: e.Metadata.Actor.ID}
	}
	return s
}

// RecordImport decides the record of an accepted file; for a file already
// imported it decides nothing (the caller answers with the first import).
func RecordImport(f FileImported) commands.Decide[ImportState] {
	return func(s ImportState, _ time.Time) ([]any, error) {
		if s.Imported {
			return nil, nil
		}
		if len(f.Hash) != 64 {
			return nil, errs.E(errs.Op("fiecompany.RecordImport"), errs.Internal, "hash de fichero no válido")
		}
		return []any{f}, nil
	}
}
