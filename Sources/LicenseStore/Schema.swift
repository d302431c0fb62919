import GRDB
import LicenseCore

/// The ledger's schema, as GRDB migrations. A migration is never edited once released:
/// add a new one. docs/STORAGE.md describes every table.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-ledger") { db in
            try db.execute(sql: """
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;

                -- The append-only ledger: the exact signed bytes of every entry. Keyed by
                -- (origin, seq), so appends go to the end of each origin's range.
                CREATE TABLE entries (
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    id BLOB NOT NULL,
                    license_row INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    signature BLOB NOT NULL,
                    PRIMARY KEY (origin, seq)
                ) WITHOUT ROWID;
                CREATE INDEX entries_by_license ON entries(license_row);

                -- Entries whose license has not arrived yet (its issue comes from another
                -- origin); their license_row is 0 until the issue is appended.
                CREATE TABLE orphan_events (
                    license_id TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (license_id, origin, seq)
                ) WITHOUT ROWID;

                -- Per-origin head of the hash chain; the version vector is (origin, head_seq).
                CREATE TABLE origins (
                    origin TEXT PRIMARY KEY NOT NULL,
                    head_seq INTEGER NOT NULL,
                    head_id BLOB NOT NULL,
                    head_hlc_wall INTEGER NOT NULL,
                    head_hlc_logical INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- Issuer public keys this node trusts, by key id.
                CREATE TABLE issuer_keys (
                    key_id TEXT PRIMARY KEY NOT NULL,
                    origin TEXT NOT NULL,
                    public_key BLOB NOT NULL
                ) WITHOUT ROWID;

                -- Materialized view: the folded state of every license. A rowid table, so a
                -- new license is appended. A license is found by id through its issuing
                -- entry's (origin, seq) key, so the only random-key index is the holder
                -- index; holder_key is the first 8 bytes of holder_ref as a signed integer,
                -- a third of the index size of the blob.
                CREATE TABLE licenses (
                    row INTEGER PRIMARY KEY,
                    id TEXT NOT NULL,
                    holder_key INTEGER NOT NULL,
                    holder_ref BLOB NOT NULL,
                    type TEXT NOT NULL,
                    province TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    key_id TEXT NOT NULL,
                    holder_masked TEXT NOT NULL,
                    issued_wall INTEGER NOT NULL,
                    issued_logical INTEGER NOT NULL,
                    attributes TEXT NOT NULL,
                    valid_from TEXT NOT NULL,
                    valid_until TEXT,
                    status TEXT NOT NULL,
                    status_reason TEXT NOT NULL,
                    updated_wall INTEGER NOT NULL,
                    updated_logical INTEGER NOT NULL,
                    event_count INTEGER NOT NULL
                );
                CREATE INDEX licenses_by_holder ON licenses(holder_key);

                -- Every lookup of a citizen's licenses: who, when, which holder, why.
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at_ms INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    holder_ref BLOB,
                    license_id TEXT,
                    purpose TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v2-certificates") { db in
            try db.execute(sql: """
                -- Issuer certificates verified against the national root: the exact signed
                -- bytes, so they can be forwarded to peers unchanged.
                CREATE TABLE certificates (
                    key_id TEXT PRIMARY KEY NOT NULL,
                    node_id TEXT NOT NULL,
                    province TEXT NOT NULL,
                    not_before INTEGER NOT NULL,
                    not_after INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    signature BLOB NOT NULL
                ) WITHOUT ROWID;

                -- Equivocation proofs: an origin signed two different entries at one seq.
                -- The ledger keeps the first; the other is kept here as the proof, and the
                -- origin is flagged for operators.
                CREATE TABLE equivocations (
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    held_id BLOB NOT NULL,
                    other_body BLOB NOT NULL,
                    other_signature BLOB NOT NULL,
                    detected_ms INTEGER NOT NULL,
                    PRIMARY KEY (origin, seq)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3-equivocation-proofs") { db in
            // A proof learnt through the gossip may name two entries of which this node
            // holds neither: keep both sides' bytes. NULL means the held side is the
            // ledger's own entry at (origin, seq).
            try db.execute(sql: """
                ALTER TABLE equivocations ADD COLUMN held_body BLOB;
                ALTER TABLE equivocations ADD COLUMN held_signature BLOB;
                """)
        }
        migrator.registerMigration("v4-recognition") { db in
            try db.execute(sql: """
                -- Root-signed revocations of compromised issuer keys, exact bytes.
                CREATE TABLE key_revocations (
                    key_id TEXT PRIMARY KEY NOT NULL,
                    compromised_at INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    signature BLOB NOT NULL
                ) WITHOUT ROWID;

                -- Each origin's latest recognition agreement: the entry at (origin, seq).
                CREATE TABLE agreements (
                    origin TEXT PRIMARY KEY NOT NULL,
                    province TEXT NOT NULL,
                    seq INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v5-conflicts") { db in
            try db.execute(sql: """
                -- Conflicts between concurrent events (docs/CONFLICTS.md), derived from the
                -- entries of one holder's licenses with their states; replaced on every refold.
                CREATE TABLE conflicts (
                    holder_ref BLOB NOT NULL,
                    license_id TEXT NOT NULL,
                    rule TEXT NOT NULL,
                    first_origin TEXT NOT NULL,
                    first_seq INTEGER NOT NULL,
                    first_kind TEXT NOT NULL,
                    second_origin TEXT NOT NULL,
                    second_seq INTEGER NOT NULL,
                    second_kind TEXT NOT NULL,
                    result TEXT NOT NULL,
                    PRIMARY KEY (holder_ref, license_id, rule, first_origin, first_seq, second_origin, second_seq)
                ) WITHOUT ROWID;
                """)
            // The state digest of the licenses already held (meta 'state_digest': the sum).
            var digest = StateDigest()
            let rows = try Row.fetchCursor(db, sql: "SELECT \(LicenseRow.columns) FROM licenses")
            while let row = try rows.next() {
                digest.add(StateDigest.hash(try LicenseRow.decode(row)))
            }
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('state_digest', ?)", arguments: [digest.hex])
        }
        migrator.registerMigration("v6-entries-in-arrival-order") { db in
            // Entries kept in the order they arrive (rowid), each origin's found through a
            // unique (origin, seq) index: a batch is appended at the table's end instead of
            // being inserted, six rows a page, in the middle of each origin's key range,
            // where leaf splits rewrote three pages and their parent (docs/STORAGE.md).
            // The license index names (origin, seq) too, so a license's entries come in
            // chain order as they did.
            try db.execute(sql: """
                CREATE TABLE entries_v6 (
                    origin TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    id BLOB NOT NULL,
                    license_row INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    signature BLOB NOT NULL
                );
                INSERT INTO entries_v6 (origin, seq, id, license_row, body, signature)
                    SELECT origin, seq, id, license_row, body, signature FROM entries ORDER BY origin, seq;
                DROP TABLE entries;
                ALTER TABLE entries_v6 RENAME TO entries;
                CREATE UNIQUE INDEX entries_by_chain ON entries(origin, seq);
                CREATE INDEX entries_by_license ON entries(license_row, origin, seq);
                """)
        }
        return migrator
    }
}
