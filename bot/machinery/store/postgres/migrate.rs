//! The PostgreSQL schema, brought up to date when a store opens.
//!
//! Applied migrations are kept in `_sqlx_migrations`, the table (and row format: version,
//! description, success, SHA-384 checksum) sqlx kept while the store ran through it, so a database
//! it migrated goes on from where it stopped and none is run twice. Replicas starting together
//! take turns: the whole run is one transaction holding an advisory lock of the schema.

use deadpool_postgres::Object;
use sha2::{Digest, Sha384};

use crate::machinery::store::StoreError;

/// (version, description, SQL), in order. Every file of `migrations/postgres` is here: a test
/// reads the folder.
pub(super) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "pipeline",
        include_str!("../migrations/postgres/0001_pipeline.sql"),
    ),
    (
        2,
        "reviews",
        include_str!("../migrations/postgres/0002_reviews.sql"),
    ),
    (
        3,
        "received index",
        include_str!("../migrations/postgres/0003_received_index.sql"),
    ),
    (
        4,
        "done actions",
        include_str!("../migrations/postgres/0004_done_actions.sql"),
    ),
    (
        5,
        "health",
        include_str!("../migrations/postgres/0005_health.sql"),
    ),
    (
        6,
        "labels on",
        include_str!("../migrations/postgres/0006_labels_on.sql"),
    ),
    (
        7,
        "activity",
        include_str!("../migrations/postgres/0007_activity.sql"),
    ),
    (
        8,
        "body encoding",
        include_str!("../migrations/postgres/0008_body_encoding.sql"),
    ),
    (
        9,
        "lighter jobs",
        include_str!("../migrations/postgres/0009_lighter_jobs.sql"),
    ),
    (
        10,
        "counted by partial indexes",
        include_str!("../migrations/postgres/0010_counted_by_partial_indexes.sql"),
    ),
    (
        11,
        "said",
        include_str!("../migrations/postgres/0011_said.sql"),
    ),
    (
        12,
        "review refusals",
        include_str!("../migrations/postgres/0012_review_refusals.sql"),
    ),
];

/// sqlx's own definition of the table, so either can read what the other wrote.
const HISTORY: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// Applies the migrations `client`'s schema has not had; refuses a database that had one with
/// other SQL (made by another build of the bot) or one this build does not know (a newer one).
pub(super) async fn run(client: &mut Object) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtext('gep-bot migrations ' || current_schema()))",
            &[],
        )
        .await?;
    transaction.batch_execute(HISTORY).await?;
    let applied = transaction
        .query(
            "SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version",
            &[],
        )
        .await?;
    for row in &applied {
        let version: i64 = row.get(0);
        let checksum: Vec<u8> = row.get(1);
        let success: bool = row.get(2);
        let Some((_, description, sql)) = MIGRATIONS.iter().find(|(v, ..)| *v == version) else {
            return Err(StoreError::Config(format!(
                "the database has migration {version}, which this gep-bot does not know: it was \
                 migrated by a newer release; run that release or a newer one"
            )));
        };
        if !success {
            return Err(StoreError::Config(format!(
                "migration {version} ({description}) failed part way before: repair the schema by \
                 hand, then delete its row from _sqlx_migrations"
            )));
        }
        if checksum != Sha384::digest(sql.as_bytes()).as_slice() {
            return Err(StoreError::Config(format!(
                "migration {version} ({description}) was applied with other SQL than this \
                 gep-bot's: the database was made by another build"
            )));
        }
    }
    for (version, description, sql) in MIGRATIONS {
        if applied.iter().any(|row| row.get::<_, i64>(0) == *version) {
            continue;
        }
        let started = std::time::Instant::now();
        transaction.batch_execute(sql).await?;
        transaction
            .execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                 VALUES ($1, $2, TRUE, $3, $4)",
                &[
                    version,
                    description,
                    &Sha384::digest(sql.as_bytes()).as_slice(),
                    &(started.elapsed().as_nanos() as i64),
                ],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_applied_in_order() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("bot/machinery/store/migrations/postgres");
        let mut files: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS
            .iter()
            .map(|(version, description, _)| {
                format!("{version:04}_{}.sql", description.replace(' ', "_"))
            })
            .collect();
        assert_eq!(listed, files);
        for (file, (_, _, sql)) in files.iter().zip(MIGRATIONS) {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("bot/machinery/store/migrations/postgres")
                .join(file);
            assert_eq!(&std::fs::read_to_string(path).unwrap(), sql, "{file}");
        }
    }
}
