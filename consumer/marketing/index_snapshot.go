package marketing

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/jackc/pgx/v5"
)

// The snapshot is: "TMX1", the change id, then per bitmap a kind byte (a: all,
// e: equality, n: one sliced attribute with its plane count), its name, and the
// bitmaps in roaring's portable format, each prefixed by its length.
const snapshotMagic = "TMX1"

func writeBitmap(w *bufio.Writer, b *roaring.Bitmap) error {
	if err := binary.Write(w, binary.LittleEndian, b.GetSerializedSizeInBytes()); err != nil {
		return err
	}
	_, err := b.WriteTo(w)
	return err
}

func writeName(w *bufio.Writer, kind byte, name string) error {
	if err := w.WriteByte(kind); err != nil {
		return err
	}
	if err := binary.Write(w, binary.LittleEndian, uint32(len(name))); err != nil {
		return err
	}
	_, err := w.WriteString(name)
	return err
}

// encode writes the index's snapshot; the caller holds x.mu.
func (x *Index) encode(out io.Writer) error {
	w := bufio.NewWriter(out)
	w.WriteString(snapshotMagic)
	binary.Write(w, binary.LittleEndian, x.change)
	if err := writeName(w, 'a', ""); err != nil {
		return err
	}
	if err := writeBitmap(w, x.all); err != nil {
		return err
	}
	for k, b := range x.eq {
		if err := writeName(w, 'e', k); err != nil {
			return err
		}
		if err := writeBitmap(w, b); err != nil {
			return err
		}
	}
	for k, s := range x.num {
		if err := writeName(w, 'n', k); err != nil {
			return err
		}
		w.WriteByte(byte(len(s.planes)))
		for _, b := range append([]*roaring.Bitmap{s.exists}, s.planes...) {
			if err := writeBitmap(w, b); err != nil {
				return err
			}
		}
	}
	return w.Flush()
}

func readBitmap(r *bytes.Reader) (*roaring.Bitmap, error) {
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, err
	}
	b := roaring.New()
	if _, err := b.ReadFrom(io.LimitReader(r, int64(n))); err != nil {
		return nil, err
	}
	return b, nil
}

func decodeIndex(data []byte) (*Index, error) {
	r := bytes.NewReader(data)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapshotMagic {
		return nil, errors.New("marketing: not an index snapshot")
	}
	x := newIndex()
	if err := binary.Read(r, binary.LittleEndian, &x.change); err != nil {
		return nil, err
	}
	for r.Len() > 0 {
		kind, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		var n uint32
		if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
			return nil, err
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, err
		}
		switch kind {
		case 'a':
			if x.all, err = readBitmap(r); err != nil {
				return nil, err
			}
		case 'e':
			if x.eq[string(name)], err = readBitmap(r); err != nil {
				return nil, err
			}
		case 'n':
			planes, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			s := &sliced{planes: make([]*roaring.Bitmap, planes)}
			if s.exists, err = readBitmap(r); err != nil {
				return nil, err
			}
			for i := range s.planes {
				if s.planes[i], err = readBitmap(r); err != nil {
					return nil, err
				}
			}
			x.num[string(name)] = s
		default:
			return nil, fmt.Errorf("marketing: snapshot: unknown entry kind %q", kind)
		}
	}
	return x, nil
}

// loadSnapshot reads the last snapshot; nil when there is none.
func (s *Service) loadSnapshot(ctx context.Context) (*Index, error) {
	var data []byte
	err := s.db.QueryRow(ctx, `SELECT data FROM marketing.index_snapshots WHERE id = 1`).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("marketing: read the index snapshot: %w", err)
	}
	x, err := decodeIndex(data)
	if err != nil {
		s.log.WarnContext(ctx, "marketing: unreadable index snapshot, rebuilding", "err", err)
		return nil, nil
	}
	return x, nil
}

// Snapshot writes the process's index to PostgreSQL and prunes the change log it
// includes (keeping an hour, for processes still behind it).
func (s *Service) Snapshot(ctx context.Context) (Stats, error) {
	x, err := s.index(ctx)
	if err != nil {
		return Stats{}, err
	}
	var buf bytes.Buffer
	x.mu.RLock()
	err = x.encode(&buf)
	change, members := x.change, x.all.GetCardinality()
	x.mu.RUnlock()
	if err != nil {
		return Stats{}, fmt.Errorf("marketing: encode the index: %w", err)
	}
	_, err = s.db.Exec(ctx, `INSERT INTO marketing.index_snapshots (id, change_id, members, data, built_at) VALUES (1, $1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET change_id = excluded.change_id, members = excluded.members, data = excluded.data, built_at = excluded.built_at
WHERE marketing.index_snapshots.change_id <= excluded.change_id`, change, int64(members), buf.Bytes(), s.now())
	if err != nil {
		return Stats{}, fmt.Errorf("marketing: write the index snapshot: %w", err)
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM marketing.member_changes WHERE id <= $1 AND changed_at < $2`, change, s.now().Add(-time.Hour)); err != nil {
		return Stats{}, fmt.Errorf("marketing: prune the change log: %w", err)
	}
	st := x.stats()
	st.SnapshotBytes = int64(buf.Len())
	return st, nil
}
