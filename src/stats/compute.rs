//! The counts behind a release, as grouped SQL counts: no per-client row ever leaves the
//! database, only `(group, count)` pairs.
//!
//! # Definitions (DESIGN.md, "The 60 % indicator"), for a period `P = [from, to]`
//!
//! * **reportable client** (only when `require_reporting_consent`): the client has a
//!   `reporting` consent that was in force at the reference day `as_of` (the end of `P` for a
//!   release, today for live progress): `given_on <= as_of`, not expired before it
//!   (`expires_on IS NULL OR expires_on >= as_of`), and **never withdrawn** (`withdrawn_on IS
//!   NULL OR withdrawn_on > today`, and dates are never in the future). So a consent withdrawn
//!   or expired during `P` leaves the client out of the whole release, and so does a withdrawal
//!   recorded after `P` but before the release is computed: a withdrawal is honoured from the
//!   day it is recorded. Releases already published are immutable and not changed by it. A new
//!   consent given again after a withdrawal counts like any other. Every figure of a release
//!   (not only the cohort) is limited to reportable clients.
//! * **cohort**: reportable clients marked eligible, with a case period open at some time in
//!   `P` (`opened_on <= to` and `closed_on` empty or `>= from`), and at least one need assessed
//!   on or before `to`.
//! * **reached**: cohort clients with at least one `referral_events` row entering `in_service`
//!   or `completed` with `on_date` in `P`.
//! * **by category**: the cohort of a category is the cohort clients with a need of that
//!   category assessed on or before `to`; reached are those of them with an `in_service` /
//!   `completed` event in `P` on a referral *of that category*.
//! * **new intakes**: reportable clients with a case period opened in `P` (a reopened case is
//!   an intake again; each client is counted once).
//! * **active caseload**: reportable clients with a case period open at the end of the day
//!   `as_of` (`opened_on <= as_of` and `closed_on` empty or after `as_of`).
//! * **referrals by category and outcome**: every referral of a reportable client that moved
//!   (has an event) in `P`, counted once, in the cell of its category and of the status it had
//!   reached at the end of `P` (its furthest event in `P`; referrals only move forward).
//! * **support**: support contacts of reportable clients dated in `P`, and the number of
//!   distinct clients they concern.
//!
//! Erased clients have no rows left, so they count nowhere. All queries of one computation run
//! in one read transaction (REPEATABLE READ on PostgreSQL) so the figures agree with each other.

use chrono::NaiveDate;
use sqlx::Row;

use crate::db::{Db, Engine};

/// The days a computation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Reference day for consent and caseload: `to` for a release, today for live progress.
    pub as_of: NaiveDate,
    /// The day of the computation: withdrawals recorded up to it are honoured.
    pub today: NaiveDate,
}

/// Cohort and reached of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pair {
    pub cohort: u64,
    pub reached: u64,
}

/// The true counts of one period. Grouped counts only: nothing here identifies a client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// By the client's recorded area code (rolled up to districts by the caller).
    pub by_area: Vec<(String, Pair)>,
    /// By need category.
    pub by_category: Vec<(String, Pair)>,
    pub new_intakes: u64,
    pub active_caseload: u64,
    /// `(category, status, referrals)`.
    pub referrals: Vec<(String, String, u64)>,
    pub support_contacts: u64,
    pub support_clients: u64,
}

impl Figures {
    /// The province total: every cohort client has exactly one area, so this is exact.
    pub fn total(&self) -> Pair {
        self.by_area.iter().fold(Pair::default(), |acc, (_, p)| Pair {
            cohort: acc.cohort + p.cohort,
            reached: acc.reached + p.reached,
        })
    }
}

/// `c` is a reportable client (see the module docs). Parameters: `$3` = as_of, `$4` = today.
const CONSENTED: &str = "EXISTS (SELECT 1 FROM consents k WHERE k.client_id = c.id AND k.scope = 'reporting' \
     AND k.given_on <= $3 AND (k.expires_on IS NULL OR k.expires_on >= $3) \
     AND (k.withdrawn_on IS NULL OR k.withdrawn_on > $4))";
/// Every query binds the same four parameters; this keeps `$3`/`$4` referenced when consent
/// is not required, so both engines see the same parameter list.
const NO_CONSENT_NEEDED: &str = "($3 = $3 AND $4 = $4)";

/// The cohort as a CTE named `cohort (id, area)`. `$1` = from, `$2` = to.
fn cohort_cte(consent: &str) -> String {
    format!(
        "cohort AS (SELECT c.id, c.area FROM clients c WHERE c.eligible \
         AND EXISTS (SELECT 1 FROM case_periods p WHERE p.client_id = c.id AND p.opened_on <= $2 \
           AND (p.closed_on IS NULL OR p.closed_on >= $1)) \
         AND EXISTS (SELECT 1 FROM needs n WHERE n.client_id = c.id AND n.assessed_on <= $2) \
         AND {consent})"
    )
}

const REACHED_STATUSES: &str = "('in_service', 'completed')";

/// A referral only moves forward (`referred` → `accepted` → `in_service` → an end state),
/// so its latest event is the one with the highest rank: no reliance on recording times,
/// which tie when several moves are entered within one second.
const STATUS_RANK: &str = "CASE e.to_status WHEN 'referred' THEN 1 WHEN 'accepted' THEN 2 \
     WHEN 'in_service' THEN 3 ELSE 4 END";

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The plain SQL count of the cohort (no grouping, no protection): the benchmark's baseline.
pub async fn cohort_count(db: &Db, window: Window, require_consent: bool) -> Result<u64, sqlx::Error> {
    let consent = if require_consent { CONSENTED } else { NO_CONSENT_NEEDED };
    let sql = format!("WITH {} SELECT COUNT(*) FROM cohort", cohort_cte(consent));
    let n: i64 = sqlx::query_scalar(&sql)
        .bind(window.from.to_string())
        .bind(window.to.to_string())
        .bind(window.as_of.to_string())
        .bind(window.today.to_string())
        .fetch_one(&db.pool)
        .await?;
    Ok(count(n))
}

/// What to compute: live progress needs only the indicator and the categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Release,
    Progress,
}

/// Computes the figures of `window` in one consistent read.
pub async fn figures(db: &Db, window: Window, require_consent: bool, scope: Scope) -> Result<Figures, sqlx::Error> {
    let consent = if require_consent { CONSENTED } else { NO_CONSENT_NEEDED };
    let cohort = cohort_cte(consent);
    let params = [
        window.from.to_string(),
        window.to.to_string(),
        window.as_of.to_string(),
        window.today.to_string(),
    ];
    let mut tx = db.pool.begin().await?;
    if db.engine == Engine::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    macro_rules! rows {
        ($sql:expr) => {{
            let sql: String = $sql;
            let mut q = sqlx::query(&sql);
            for p in &params {
                q = q.bind(p.as_str());
            }
            q.fetch_all(&mut *tx).await?
        }};
    }

    let mut out = Figures::default();

    let rows = rows!(format!(
        "WITH {cohort}, reached AS (SELECT DISTINCT e.client_id FROM referral_events e \
           WHERE e.to_status IN {REACHED_STATUSES} AND e.on_date >= $1 AND e.on_date <= $2) \
         SELECT h.area AS grp, COUNT(*) AS cohort, COUNT(r.client_id) AS reached \
         FROM cohort h LEFT JOIN reached r ON r.client_id = h.id GROUP BY h.area ORDER BY h.area"
    ));
    out.by_area = pairs(&rows)?;

    let rows = rows!(format!(
        "WITH {cohort}, \
         needed AS (SELECT DISTINCT n.client_id, n.category FROM needs n JOIN cohort h ON h.id = n.client_id \
           WHERE n.assessed_on <= $2), \
         used AS (SELECT DISTINCT e.client_id, r.category FROM referral_events e \
           JOIN referrals r ON r.id = e.referral_id \
           WHERE e.to_status IN {REACHED_STATUSES} AND e.on_date >= $1 AND e.on_date <= $2) \
         SELECT d.category AS grp, COUNT(*) AS cohort, COUNT(u.client_id) AS reached \
         FROM needed d LEFT JOIN used u ON u.client_id = d.client_id AND u.category = d.category \
         GROUP BY d.category ORDER BY d.category"
    ));
    out.by_category = pairs(&rows)?;

    if scope == Scope::Release {
        let rows = rows!(format!(
            "SELECT COUNT(DISTINCT c.id) AS n FROM clients c JOIN case_periods p ON p.client_id = c.id \
             WHERE p.opened_on >= $1 AND p.opened_on <= $2 AND {consent}"
        ));
        out.new_intakes = single(&rows, "n")?;

        let rows = rows!(format!(
            "SELECT COUNT(*) AS n FROM clients c WHERE EXISTS (SELECT 1 FROM case_periods p \
               WHERE p.client_id = c.id AND p.opened_on <= $3 AND (p.closed_on IS NULL OR p.closed_on > $3)) \
             AND $1 <= $2 AND {consent}"
        ));
        out.active_caseload = single(&rows, "n")?;

        let rows = rows!(format!(
            "WITH moved AS (SELECT e.referral_id, e.to_status, ROW_NUMBER() OVER (PARTITION BY e.referral_id \
               ORDER BY {STATUS_RANK} DESC, e.on_date DESC, e.at DESC, e.id DESC) AS rn \
               FROM referral_events e JOIN clients c ON c.id = e.client_id \
               WHERE e.on_date >= $1 AND e.on_date <= $2 AND {consent}) \
             SELECT r.category AS category, m.to_status AS status, COUNT(*) AS n \
             FROM moved m JOIN referrals r ON r.id = m.referral_id WHERE m.rn = 1 \
             GROUP BY r.category, m.to_status ORDER BY r.category, m.to_status"
        ));
        out.referrals = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("category")?,
                    r.try_get::<String, _>("status")?,
                    count(r.try_get::<i64, _>("n")?),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;

        let rows = rows!(format!(
            "SELECT COUNT(*) AS contacts, COUNT(DISTINCT s.client_id) AS clients \
             FROM support_logs s JOIN clients c ON c.id = s.client_id \
             WHERE s.on_date >= $1 AND s.on_date <= $2 AND {consent}"
        ));
        out.support_contacts = single(&rows, "contacts")?;
        out.support_clients = single(&rows, "clients")?;
    }
    tx.commit().await?;
    Ok(out)
}

fn pairs(rows: &[sqlx::any::AnyRow]) -> Result<Vec<(String, Pair)>, sqlx::Error> {
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("grp")?,
                Pair {
                    cohort: count(r.try_get::<i64, _>("cohort")?),
                    reached: count(r.try_get::<i64, _>("reached")?),
                },
            ))
        })
        .collect()
}

fn single(rows: &[sqlx::any::AnyRow], column: &str) -> Result<u64, sqlx::Error> {
    match rows.first() {
        Some(r) => Ok(count(r.try_get::<i64, _>(column)?)),
        None => Ok(0),
    }
}
