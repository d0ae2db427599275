//! Benchmark of a year's statistics release on a synthetic installation.
//!
//! Builds 100 000 clients (with case periods, reporting consents and about two needs each),
//! 500 000 referrals with their events (about 1.25 million), and 200 000 support logs,
//! inserted in bulk with plain SQL in large transactions (sealed columns hold random bytes:
//! the data is synthetic). Then it times computing the release of the year 2024 (every
//! grouped count, the disclosure control and the JSON) against a plain SQL `COUNT(*)` of the
//! same cohort, in the same run, and prints both and their ratio.
//!
//! ```text
//! cargo bench --bench stats                                   # SQLite (a temporary file)
//! HOANHAP_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench stats
//! cargo bench --bench stats -- --postgres postgres://postgres@127.0.0.1:5432/postgres
//! HOANHAP_BENCH_CLIENTS=20000 cargo bench --bench stats      # a smaller run (referrals ×5, logs ×2)
//! HOANHAP_BENCH_VERBOSE=1 cargo bench --bench stats          # also the time of each bulk insert
//! ```
//!
//! With a PostgreSQL URL, a fresh database is created next to the one named and dropped at
//! the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate};
use hoanhap::db::{Db, Engine};
use hoanhap::stats::compute::{self, Scope, Window};
use hoanhap::stats::disclosure::DisclosureRules;
use hoanhap::stats::linked;
use hoanhap::stats::period::Period;
use hoanhap::stats::release::{self, Meta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use sqlx::Connection;

const CATEGORIES: [&str; 7] = [
    "vocational_training",
    "employment",
    "loan",
    "health_care",
    "counselling",
    "legal_aid",
    "social_assistance",
];
const KINDS: [&str; 6] = [
    "home_visit",
    "phone_call",
    "accompaniment",
    "peer_group",
    "material_support",
    "other",
];
/// Paths a referral takes through its states, with their weights (per 100).
const PATHS: [(&[&str], u32); 7] = [
    (&["referred"], 10),
    (&["referred", "declined"], 5),
    (&["referred", "accepted"], 10),
    (&["referred", "accepted", "cancelled"], 5),
    (&["referred", "accepted", "in_service"], 30),
    (&["referred", "accepted", "in_service", "completed"], 30),
    (&["referred", "accepted", "in_service", "dropped_out"], 10),
];
const TS: &str = "2025-01-01T00:00:00Z";

/// A value to bind.
enum V {
    T(String),
    O(Option<String>),
    I(i64),
    B(bool),
    Y(Vec<u8>),
}

/// Inserts `rows` into `table (columns)` with multi-row `INSERT`s in one transaction.
async fn bulk(db: &Db, table: &str, columns: &[&str], rows: Vec<Vec<V>>) {
    let started = Instant::now();
    let count = rows.len();
    // Moderate statements: sqlx-sqlite binds `$N` parameters in time growing faster than
    // their number, so a few hundred parameters per statement load fastest.
    let per_statement = (300 / columns.len()).max(1);
    let mut tx = db.pool.begin().await.unwrap();
    if db.engine == Engine::Sqlite {
        // A 256 MiB page cache for this connection: the indexes are built in random order.
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (r, _) in chunk.iter().enumerate() {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..columns.len() {
                if c > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    V::T(s) => q.bind(s.as_str()),
                    V::O(s) => q.bind(s.as_deref()),
                    V::I(i) => q.bind(*i),
                    V::B(b) => q.bind(*b),
                    V::Y(y) => q.bind(y.as_slice()),
                };
            }
        }
        q.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    if std::env::var("HOANHAP_BENCH_VERBOSE").is_ok() {
        println!("  {table}: {count} rows in {:.2} s", started.elapsed().as_secs_f64());
    }
}

fn bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.r#gen()).collect()
}

fn day(base: NaiveDate, offset: i64) -> NaiveDate {
    base + Days::days(offset)
}

struct Scale {
    clients: usize,
    referrals: usize,
    support_logs: usize,
}

async fn build(db: &Db, scale: &Scale) -> Duration {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(2024);
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let last_day = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    hoanhap::areas::seed_if_empty(db, hoanhap::config::AreaSeed::NgheAn2024)
        .await
        .unwrap();
    let districts: Vec<String> = hoanhap::areas::AreaCatalog::load(db, chrono::Utc::now().date_naive())
        .await
        .unwrap()
        .all()
        .iter()
        .filter(|a| a.parent.as_deref() == Some("40"))
        .map(|a| a.code.clone())
        .collect();
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, area, status, password_hash, created_at, updated_at) \
         VALUES ('bench-volunteer', 'bench.volunteer', 'Bench', 'volunteer', '412', 'active', 'x', $1, $1)",
    )
    .bind(TS)
    .execute(&db.pool)
    .await
    .unwrap();

    // Clients and their case periods, consents and needs.
    let mut opened_on = Vec::with_capacity(scale.clients);
    let (mut clients, mut periods, mut consents, mut needs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..scale.clients {
        let id = format!("c{i:07}");
        let opened = day(start, rng.gen_range(0..730));
        let closed = (rng.gen_range(0..100) < 25)
            .then(|| day(opened, rng.gen_range(30..400)))
            .filter(|d| *d < last_day);
        opened_on.push(opened);
        clients.push(vec![
            V::T(id.clone()),
            V::T(format!("NA-B-{i:07}")),
            V::T(districts[rng.gen_range(0..districts.len())].clone()),
            V::T(if closed.is_some() { "closed" } else { "open" }.into()),
            V::B(rng.gen_range(0..100) < 90),
            V::T("25_34".into()),
            V::T(opened.to_string()),
            V::O(closed.map(|d| d.to_string())),
            V::I(1),
            V::T(TS.into()),
            V::T(TS.into()),
            V::Y(bytes(&mut rng, 48)),
            V::Y(bytes(&mut rng, 40)),
            V::Y(bytes(&mut rng, 16)),
        ]);
        periods.push(vec![
            V::T(id.clone()),
            V::T(opened.to_string()),
            V::O(closed.map(|d| d.to_string())),
        ]);
        if rng.gen_range(0..100) < 92 {
            let withdrawn = (rng.gen_range(0..100) < 3).then(|| day(opened, rng.gen_range(10..300)).to_string());
            consents.push(vec![
                V::T(format!("k{i:07}")),
                V::T(id.clone()),
                V::T("reporting".into()),
                V::T(opened.to_string()),
                V::O(withdrawn),
                V::T(TS.into()),
            ]);
        }
        for n in 0..rng.gen_range(1..=3) {
            needs.push(vec![
                V::T(format!("n{i:07}-{n}")),
                V::T(id.clone()),
                V::T(CATEGORIES[rng.gen_range(0..CATEGORIES.len())].into()),
                V::Y(bytes(&mut rng, 32)),
                V::T(day(opened, rng.gen_range(0..30)).to_string()),
                V::T(TS.into()),
            ]);
        }
    }
    let counts = (clients.len(), consents.len(), needs.len());
    bulk(
        db,
        "clients",
        &[
            "id",
            "code",
            "area",
            "status",
            "eligible",
            "age_band",
            "opened_on",
            "closed_on",
            "version",
            "created_at",
            "updated_at",
            "full_name_sealed",
            "date_of_birth_sealed",
            "bi_name_dob",
        ],
        clients,
    )
    .await;
    bulk(db, "case_periods", &["client_id", "opened_on", "closed_on"], periods).await;
    bulk(
        db,
        "consents",
        &["id", "client_id", "scope", "given_on", "withdrawn_on", "created_at"],
        consents,
    )
    .await;
    bulk(
        db,
        "needs",
        &[
            "id",
            "client_id",
            "category",
            "detail_sealed",
            "assessed_on",
            "created_at",
        ],
        needs,
    )
    .await;

    // Referrals and their events, in slices so memory stays small.
    let mut events_total = 0;
    let slice = 50_000;
    let mut done = 0;
    while done < scale.referrals {
        let n = slice.min(scale.referrals - done);
        let (mut referrals, mut events) = (Vec::with_capacity(n), Vec::with_capacity(n * 3));
        for r in done..done + n {
            let c = rng.gen_range(0..scale.clients);
            let client = format!("c{c:07}");
            let id = format!("r{r:07}");
            let mut pick = rng.gen_range(0..100);
            let path = PATHS
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .map_or(PATHS[0].0, |(p, _)| *p);
            let mut on = day(opened_on[c], rng.gen_range(0..300));
            let referred = on;
            let mut from: Option<String> = None;
            for (e, status) in path.iter().enumerate() {
                if e > 0 {
                    on = day(on, rng.gen_range(3..60));
                }
                events.push(vec![
                    V::T(format!("{id}-{e}")),
                    V::T(id.clone()),
                    V::T(client.clone()),
                    V::O(from.clone()),
                    V::T((*status).into()),
                    V::T(on.to_string()),
                    V::T(TS.into()),
                ]);
                from = Some((*status).into());
            }
            referrals.push(vec![
                V::T(id),
                V::T(client),
                V::T(CATEGORIES[rng.gen_range(0..CATEGORIES.len())].into()),
                V::Y(bytes(&mut rng, 32)),
                V::T(path.last().copied().unwrap_or("referred").into()),
                V::T(referred.to_string()),
                V::T(on.to_string()),
                V::T(TS.into()),
            ]);
        }
        events_total += events.len();
        bulk(
            db,
            "referrals",
            &[
                "id",
                "client_id",
                "category",
                "detail_sealed",
                "status",
                "referred_on",
                "last_moved_on",
                "created_at",
            ],
            referrals,
        )
        .await;
        bulk(
            db,
            "referral_events",
            &[
                "id",
                "referral_id",
                "client_id",
                "from_status",
                "to_status",
                "on_date",
                "at",
            ],
            events,
        )
        .await;
        done += n;
    }

    let logs: Vec<Vec<V>> = (0..scale.support_logs)
        .map(|l| {
            let c = rng.gen_range(0..scale.clients);
            vec![
                V::T(format!("s{l:07}")),
                V::T(format!("c{c:07}")),
                V::T("bench-volunteer".into()),
                V::T(KINDS[rng.gen_range(0..KINDS.len())].into()),
                V::T(day(opened_on[c], rng.gen_range(0..400)).to_string()),
                V::Y(bytes(&mut rng, 32)),
                V::B(false),
                V::T(TS.into()),
            ]
        })
        .collect();
    bulk(
        db,
        "support_logs",
        &[
            "id",
            "client_id",
            "volunteer_id",
            "kind",
            "on_date",
            "note_sealed",
            "needs_follow_up",
            "created_at",
        ],
        logs,
    )
    .await;
    sqlx::query("ANALYZE").execute(&db.pool).await.unwrap();
    println!(
        "built {} clients, {} reporting consents, {} needs, {} referrals, {} referral events, {} support logs in {:.1} s",
        counts.0,
        counts.1,
        counts.2,
        scale.referrals,
        events_total,
        scale.support_logs,
        started.elapsed().as_secs_f64()
    );
    started.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn run(db: &Db, label: &str, scale: &Scale) {
    println!("== {label}");
    build(db, scale).await;
    let rules = DisclosureRules::default();
    let period = Period::year(2024).unwrap();
    let today = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    let window = Window {
        from: period.from,
        to: period.to,
        as_of: period.to,
        today,
    };
    let catalog = hoanhap::areas::AreaCatalog::load(db, chrono::Utc::now().date_naive())
        .await
        .unwrap();
    let areas = catalog.all();
    let categories = release::categories(db).await.unwrap();
    const RUNS: usize = 5;
    let (mut release_times, mut count_times) = (Vec::new(), Vec::new());
    let (mut cohort, mut reached, mut counted) = (0, 0, 0);
    for _ in 0..RUNS {
        // The release: every grouped count in one read, protection and the stored JSON.
        let t = Instant::now();
        let figures = compute::figures(db, window, rules.require_reporting_consent, Scope::Release)
            .await
            .unwrap();
        let built = release::protect(
            Meta {
                id: "bench".into(),
                period: period.clone(),
                version: 1,
                published_at: TS.into(),
                reason: None,
                audit_head: "0:".into(),
            },
            &figures,
            areas,
            "40",
            &categories,
            &rules,
        );
        let body = serde_json::to_string(&built).unwrap();
        release_times.push(t.elapsed());
        assert!(body.len() > 100);
        let total = figures.total();
        (cohort, reached) = (total.cohort, total.reached);

        // The baseline: one plain COUNT(*) of the same cohort.
        let t = Instant::now();
        counted = compute::cohort_count(db, window, rules.require_reporting_consent)
            .await
            .unwrap();
        count_times.push(t.elapsed());
    }
    assert_eq!(cohort, counted, "the release's cohort is the plain count's");
    let (r, c) = (median(release_times), median(count_times));
    println!(
        "year 2024: cohort {cohort}, reached {reached} ({:.1} %)",
        reached as f64 * 100.0 / cohort.max(1) as f64
    );
    println!(
        "release (all figures + disclosure control + JSON), median of {RUNS}: {:.1} ms",
        r.as_secs_f64() * 1000.0
    );
    println!(
        "plain SQL COUNT(*) of the same cohort, median of {RUNS}:         {:.1} ms",
        c.as_secs_f64() * 1000.0
    );
    println!("ratio release / count: {:.2}", r.as_secs_f64() / c.as_secs_f64());

    // Linked tables: the year protected together with its two half-years and its twelve
    // months, against the year protected alone (the pure step, without the SQL).
    let meta = |period: &Period, n: usize| Meta {
        id: format!("bench-{n}"),
        period: period.clone(),
        version: 1,
        published_at: TS.into(),
        reason: None,
        audit_head: "0:".into(),
    };
    let mut periods = vec![Period::half_year(2024, 1).unwrap(), Period::half_year(2024, 2).unwrap()];
    for m in 1..=12 {
        let from = NaiveDate::from_ymd_opt(2024, m, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2024 + i32::from(m == 12), m % 12 + 1, 1)
            .unwrap()
            .pred_opt()
            .unwrap();
        periods.push(Period::custom(from, to).unwrap());
    }
    let mut published = Vec::new();
    for (n, p) in periods.iter().enumerate() {
        let w = Window {
            from: p.from,
            to: p.to,
            as_of: p.to,
            today,
        };
        let f = compute::figures(db, w, rules.require_reporting_consent, Scope::Release)
            .await
            .unwrap();
        published.push(linked::protect_linked(
            meta(p, n),
            &f,
            areas,
            "40",
            &categories,
            &rules,
            &published,
        ));
    }
    let figures = compute::figures(db, window, rules.require_reporting_consent, Scope::Release)
        .await
        .unwrap();
    let (mut alone_times, mut linked_times) = (Vec::new(), Vec::new());
    let (mut alone, mut with_links) = (None, None);
    for _ in 0..RUNS {
        let t = Instant::now();
        alone = Some(release::protect(
            meta(&period, 99),
            &figures,
            areas,
            "40",
            &categories,
            &rules,
        ));
        alone_times.push(t.elapsed());
        let t = Instant::now();
        with_links = Some(linked::protect_linked(
            meta(&period, 99),
            &figures,
            areas,
            "40",
            &categories,
            &rules,
            &published,
        ));
        linked_times.push(t.elapsed());
    }
    let shown = |r: &Option<release::Release>| r.as_ref().map_or(0, |r| linked::release_cells(r).len());
    println!(
        "protection of the year alone, median of {RUNS}: {:.2} ms ({} counts shown)",
        median(alone_times).as_secs_f64() * 1000.0,
        shown(&alone)
    );
    println!(
        "protection linked with {} published releases, median of {RUNS}: {:.2} ms ({} counts shown)",
        published.len(),
        median(linked_times).as_secs_f64() * 1000.0,
        shown(&with_links)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    sqlx::any::install_default_drivers();
    let args: Vec<String> = std::env::args().collect();
    let postgres = args
        .iter()
        .position(|a| a == "--postgres")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("HOANHAP_BENCH_DATABASE_URL").ok())
        .filter(|u| !u.is_empty());
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and then a small run
    // only checks that the benchmark works.
    let smoke = !args.iter().any(|a| a == "--bench");
    let clients: usize = std::env::var("HOANHAP_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 300 } else { 100_000 });
    if smoke {
        println!("(test mode: {clients} clients; `cargo bench --bench stats` for the full run)");
    }
    let scale = Scale {
        clients,
        referrals: clients * 5,
        support_logs: clients * 2,
    };

    // HOANHAP_BENCH_KEEP=1 keeps the databases (for looking at query plans); their names are
    // printed.
    let keep = std::env::var("HOANHAP_BENCH_KEEP").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let db = Db::connect(&SecretString::from(url)).await.unwrap();
    assert_eq!(db.engine, Engine::Sqlite);
    run(&db, "SQLite", &scale).await;
    db.pool.close().await;
    if keep {
        let kept = std::env::temp_dir().join(format!("hoanhap-bench-{}.db", std::process::id()));
        std::fs::copy(&file, &kept).unwrap();
        println!("kept the SQLite database as {}", kept.display());
    }

    if let Some(admin) = postgres {
        let name = format!("hoanhap_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("the PostgreSQL URL must name a database"),
        };
        let db = Db::connect(&SecretString::from(url)).await.unwrap();
        run(&db, "PostgreSQL", &scale).await;
        db.pool.close().await;
        if keep {
            println!("kept the PostgreSQL database {name}");
        } else {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}
