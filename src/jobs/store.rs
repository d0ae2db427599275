//! `job_leases`.

use chrono::{DateTime, Utc};

use crate::db::{Db, timestamp};

/// Takes the lease of `job` until `until` if nobody holds it at `now` (or `holder` does);
/// returns whether this holder has it. One statement, so two servers racing for it cannot
/// both win.
pub async fn take(
    db: &Db,
    job: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let taken = sqlx::query(
        "INSERT INTO job_leases (job, holder, until) VALUES ($1, $2, $3) \
         ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, until = excluded.until \
         WHERE job_leases.until <= $4 OR job_leases.holder = excluded.holder",
    )
    .bind(job)
    .bind(holder)
    .bind(timestamp(until))
    .bind(timestamp(now))
    .execute(&db.pool)
    .await?
    .rows_affected();
    Ok(taken == 1)
}
