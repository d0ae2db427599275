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
//!   Referrals whose events carry an unknown status are left out of this table.
//! * **support**: support contacts of reportable clients dated in `P`, and the number of
//!   distinct clients they concern.
//!
//! Erased clients have no rows left, so they count nowhere. All queries of one computation run
//! in one transaction (REPEATABLE READ on PostgreSQL) so the figures agree with each other; the
//! per-client working sets stay in temporary tables of that transaction (see [`figures`]).

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
/// Keeps `$3`/`$4` referenced when consent is not required, so a statement binds the same
/// parameters either way.
const NO_CONSENT_NEEDED: &str = "($3 = $3 AND $4 = $4)";

/// `c` is in the cohort, given that it is reportable. `$1` = from, `$2` = to.
const IN_COHORT: &str = "c.eligible \
     AND EXISTS (SELECT 1 FROM case_periods p WHERE p.client_id = c.id AND p.opened_on <= $2 \
       AND (p.closed_on IS NULL OR p.closed_on >= $1)) \
     AND EXISTS (SELECT 1 FROM needs n WHERE n.client_id = c.id AND n.assessed_on <= $2)";

/// A referral only moves forward (`referred` → `accepted` → `in_service` → one end state),
/// and reaches each state at most once, so the status it had at the end of a period is the
/// one of highest rank among its events up to then: no reliance on recording times, which
/// tie when several moves are entered within one second. Unknown statuses rank 0.
const STATUS_RANK: &str = "CASE e.to_status WHEN 'referred' THEN 1 WHEN 'accepted' THEN 2 \
     WHEN 'in_service' THEN 3 WHEN 'declined' THEN 4 WHEN 'cancelled' THEN 5 WHEN 'completed' THEN 6 \
     WHEN 'dropped_out' THEN 7 ELSE 0 END";
/// Every status, so the (to_status, on_date, …) index serves a scan by date.
const ALL_STATUSES: &str =
    "('referred', 'accepted', 'declined', 'cancelled', 'in_service', 'completed', 'dropped_out')";

/// The status of a rank of [`STATUS_RANK`].
fn status_of_rank(rank: i64) -> Option<&'static str> {
    Some(match rank {
        1 => "referred",
        2 => "accepted",
        3 => "in_service",
        4 => "declined",
        5 => "cancelled",
        6 => "completed",
        7 => "dropped_out",
        _ => return None,
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The plain SQL count of the cohort (no grouping, no protection): the benchmark's baseline.
pub async fn cohort_count(db: &Db, window: Window, require_consent: bool) -> Result<u64, sqlx::Error> {
    let consent = if require_consent { CONSENTED } else { NO_CONSENT_NEEDED };
    let sql = format!("SELECT COUNT(*) FROM clients c WHERE {IN_COHORT} AND {consent}");
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

/// The area a client belonged to on the reference day (`$3`, the period's end for a
/// release), from her area history: a client transferred later still counts where she
/// was. (The area of today is the fallback for a day before her first history row.)
const AREA_AS_OF: &str = "(SELECT h.area FROM client_areas h WHERE h.client_id = c.id AND h.from_date <= $3 \
     ORDER BY h.from_date DESC, h.moved_at DESC LIMIT 1)";

/// Working tables of one computation, private to its connection and transaction.
const PEOPLE: &str = "stats_work_people";
const MOVES: &str = "stats_work_moves";

/// Computes the figures of `window` in one consistent read.
///
/// Two temporary tables (private to the connection, created and dropped inside the
/// transaction, so nothing outlives it even on error) hold the intermediate sets, so each
/// base table is read once:
/// * `stats_work_people (id, area, cohort)`: the reportable clients, each in the area she
///   belonged to on the reference day, with whether she is in the cohort;
/// * `stats_work_moves (referral_id, client_id, category, rk, reached)`: each referral of a
///   reportable client that moved in the period, with the rank of the status it reached by
///   the end of the period and whether it entered `in_service`/`completed` in it.
///
/// Every published figure is then a grouped count over these. On 100 000 clients and
/// 500 000 referrals this is several times faster than one query per figure with the
/// conditions repeated (see `bench/stats.rs`).
pub async fn figures(db: &Db, window: Window, require_consent: bool, scope: Scope) -> Result<Figures, sqlx::Error> {
    let consent = if require_consent { CONSENTED } else { NO_CONSENT_NEEDED };
    let from = window.from.to_string();
    let to = window.to.to_string();
    let as_of = window.as_of.to_string();
    let today = window.today.to_string();
    let mut tx = db.pool.begin().await?;
    if db.engine == Engine::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    macro_rules! run {
        ($sql:expr, [$($p:expr),*]) => {{
            let sql: String = $sql;
            sqlx::query(&sql)$(.bind($p.as_str()))*.fetch_all(&mut *tx).await?
        }};
    }
    for table in [PEOPLE, MOVES] {
        run!(format!("DROP TABLE IF EXISTS {table}"), []);
    }
    run!(
        format!("CREATE TEMPORARY TABLE {PEOPLE} (id TEXT PRIMARY KEY, area TEXT NOT NULL, cohort BIGINT NOT NULL)"),
        []
    );
    run!(
        format!(
            "INSERT INTO {PEOPLE} (id, area, cohort) SELECT c.id, COALESCE({AREA_AS_OF}, c.area), \
             CASE WHEN {IN_COHORT} THEN 1 ELSE 0 END FROM clients c WHERE {consent}"
        ),
        [from, to, as_of, today]
    );
    run!(
        format!(
            "CREATE TEMPORARY TABLE {MOVES} (referral_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, \
             category TEXT NOT NULL, rk BIGINT NOT NULL, reached BIGINT NOT NULL)"
        ),
        []
    );
    run!(
        format!(
            "INSERT INTO {MOVES} (referral_id, client_id, category, rk, reached) \
             SELECT g.referral_id, g.client_id, r.category, g.rk, g.reached \
             FROM (SELECT e.referral_id, e.client_id, MAX({STATUS_RANK}) AS rk, \
                 MAX(CASE WHEN e.to_status IN ('in_service', 'completed') THEN 1 ELSE 0 END) AS reached \
               FROM referral_events e WHERE e.to_status IN {ALL_STATUSES} AND e.on_date >= $1 AND e.on_date <= $2 \
               GROUP BY e.referral_id, e.client_id) g \
             JOIN {PEOPLE} w ON w.id = g.client_id JOIN referrals r ON r.id = g.referral_id"
        ),
        [from, to]
    );

    let mut out = Figures::default();
    let rows = run!(
        format!(
            "SELECT w.area AS grp, COUNT(*) AS cohort, COUNT(u.client_id) AS reached FROM {PEOPLE} w \
             LEFT JOIN (SELECT DISTINCT client_id FROM {MOVES} WHERE reached = 1) u ON u.client_id = w.id \
             WHERE w.cohort = 1 GROUP BY w.area ORDER BY w.area"
        ),
        []
    );
    out.by_area = pairs(&rows)?;

    let rows = run!(
        format!(
            "SELECT d.category AS grp, COUNT(*) AS cohort, COUNT(u.client_id) AS reached \
             FROM (SELECT DISTINCT n.client_id, n.category FROM needs n JOIN {PEOPLE} w ON w.id = n.client_id \
               WHERE w.cohort = 1 AND n.assessed_on <= $1) d \
             LEFT JOIN (SELECT DISTINCT client_id, category FROM {MOVES} WHERE reached = 1) u \
               ON u.client_id = d.client_id AND u.category = d.category \
             GROUP BY d.category ORDER BY d.category"
        ),
        [to]
    );
    out.by_category = pairs(&rows)?;

    if scope == Scope::Release {
        let rows = run!(
            format!(
                "SELECT COUNT(*) AS n FROM {PEOPLE} w WHERE EXISTS (SELECT 1 FROM case_periods p \
                 WHERE p.client_id = w.id AND p.opened_on >= $1 AND p.opened_on <= $2)"
            ),
            [from, to]
        );
        out.new_intakes = single(&rows, "n")?;

        let rows = run!(
            format!(
                "SELECT COUNT(*) AS n FROM {PEOPLE} w WHERE EXISTS (SELECT 1 FROM case_periods p \
                 WHERE p.client_id = w.id AND p.opened_on <= $1 AND (p.closed_on IS NULL OR p.closed_on > $1))"
            ),
            [as_of]
        );
        out.active_caseload = single(&rows, "n")?;

        let rows = run!(
            format!("SELECT category, rk, COUNT(*) AS n FROM {MOVES} GROUP BY category, rk ORDER BY category, rk"),
            []
        );
        for r in &rows {
            if let Some(status) = status_of_rank(r.try_get::<i64, _>("rk")?) {
                out.referrals.push((
                    r.try_get::<String, _>("category")?,
                    status.to_owned(),
                    count(r.try_get::<i64, _>("n")?),
                ));
            }
        }

        let rows = run!(
            format!(
                "SELECT COUNT(*) AS contacts, COUNT(DISTINCT s.client_id) AS clients \
                 FROM support_logs s JOIN {PEOPLE} w ON w.id = s.client_id \
                 WHERE s.on_date >= $1 AND s.on_date <= $2"
            ),
            [from, to]
        );
        out.support_contacts = single(&rows, "contacts")?;
        out.support_clients = single(&rows, "clients")?;
    }
    for table in [MOVES, PEOPLE] {
        run!(format!("DROP TABLE {table}"), []);
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
