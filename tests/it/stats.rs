//! Anonymised statistics on the configured engine: the 60 % indicator worked out by hand on
//! a small data set with every edge case of the definition, disclosure control, releases
//! (immutable, versioned, identical bytes for every manager, district view), exports and
//! pages, and who may see and publish them.

use crate::kit::{Api, TestEnv, TestServer, add_user};
use chrono::NaiveDate;
use hoanhap::AppState;
use hoanhap::clients::NewClient;
use hoanhap::crypto::Sensitive;
use hoanhap::policy::Role;
use hoanhap::stats::disclosure::{Cell, CountTable, DisclosureRules, RateRow, protect_rates, protect_table};
use hoanhap::stats::{compute, release};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A client of the data set: what must never reach a manager.
#[derive(Debug, Clone)]
struct Person {
    id: String,
    code: String,
    name: String,
}

struct Builder<'a> {
    state: &'a AppState,
    volunteer: String,
    people: Vec<Person>,
    n: u32,
}

impl<'a> Builder<'a> {
    async fn new(state: &'a AppState) -> Self {
        let volunteer = add_user(state, "tnv.thu", Role::Volunteer, "412").await;
        Self {
            state,
            volunteer,
            people: Vec::new(),
            n: 0,
        }
    }

    fn pool(&self) -> &sqlx::AnyPool {
        &self.state.db.pool
    }

    async fn exec(&self, sql: &str, args: &[&str]) {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(*a);
        }
        q.execute(self.pool()).await.unwrap();
    }

    fn uid(&mut self) -> String {
        self.n += 1;
        format!("t-{:05}-{}", self.n, uuid::Uuid::new_v4().simple())
    }

    /// A client opened on `opened` (one case period), with a reporting consent given the
    /// same day when `consent` is true.
    async fn client(&mut self, label: &str, area: &str, eligible: bool, opened: &str, consent: bool) -> String {
        let name = format!("Khách Thử Nghiệm {label}");
        let created = self
            .state
            .clients
            .create(
                &NewClient {
                    area: area.into(),
                    full_name: Sensitive::from(name.as_str()),
                    chosen_name: Some(Sensitive::from(format!("Bí danh {label}").as_str())),
                    date_of_birth: date("1995-05-05"),
                    id_number: None,
                    phone: None,
                    address: None,
                    notes: None,
                    eligible,
                    opened_on: date(opened),
                    assigned_worker: None,
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let id = created.client.id.clone();
        self.people.push(Person {
            id: id.clone(),
            code: created.client.code.clone(),
            name,
        });
        if consent {
            self.consent(&id, opened, None).await;
        }
        id
    }

    async fn consent(&mut self, client: &str, given: &str, withdrawn: Option<&str>) {
        let id = self.uid();
        let mut q = sqlx::query(
            "INSERT INTO consents (id, client_id, scope, given_on, withdrawn_on, created_at) \
             VALUES ($1, $2, 'reporting', $3, $4, '2024-01-01T00:00:00Z')",
        )
        .bind(id)
        .bind(client)
        .bind(given);
        q = q.bind(withdrawn);
        q.execute(self.pool()).await.unwrap();
    }

    async fn close(&self, client: &str, on: &str) {
        self.exec(
            "UPDATE case_periods SET closed_on = $1 WHERE client_id = $2",
            &[on, client],
        )
        .await;
        self.exec(
            "UPDATE clients SET status = 'closed', closed_on = $1 WHERE id = $2",
            &[on, client],
        )
        .await;
    }

    async fn need(&mut self, client: &str, category: &str, on: &str) {
        let id = self.uid();
        self.exec(
            "INSERT INTO needs (id, client_id, category, assessed_on, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&id, client, category, on, "2024-01-01T00:00:00Z"],
        )
        .await;
    }

    /// A referral and its moves, `(status, on)` in order; the first is `referred`.
    async fn referral(&mut self, client: &str, category: &str, moves: &[(&str, &str)]) {
        let id = self.uid();
        let (last, last_on) = *moves.last().unwrap();
        self.exec(
            "INSERT INTO referrals (id, client_id, category, status, referred_on, last_moved_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&id, client, category, last, moves[0].1, last_on, "2024-01-01T00:00:00Z"],
        )
        .await;
        let mut from: Option<&str> = None;
        for (i, (status, on)) in moves.iter().enumerate() {
            let event = self.uid();
            let at = format!("{on}T0{i}:00:00Z");
            sqlx::query(
                "INSERT INTO referral_events (id, referral_id, client_id, from_status, to_status, on_date, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&event)
            .bind(&id)
            .bind(client)
            .bind(from)
            .bind(*status)
            .bind(*on)
            .bind(&at)
            .execute(self.pool())
            .await
            .unwrap();
            from = Some(status);
        }
    }

    async fn support(&mut self, client: &str, on: &str) {
        let id = self.uid();
        sqlx::query(
            "INSERT INTO support_logs (id, client_id, volunteer_id, kind, on_date, needs_follow_up, created_at) \
             VALUES ($1, $2, $3, 'home_visit', $4, $5, '2024-01-01T00:00:00Z')",
        )
        .bind(&id)
        .bind(client)
        .bind(&self.volunteer)
        .bind(on)
        .bind(false)
        .execute(self.pool())
        .await
        .unwrap();
    }
}

/// The hand-built data set. Unless said otherwise a client is eligible, opened on
/// 2024-01-10 with a reporting consent given that day, and stays open.
///
/// District 412 (Thành phố Vinh)
/// * A1–A8: need vocational_training (2024-01-15); referral referred 02-01, accepted 02-10,
///   in_service 03-01; A1–A4 also completed 05-20.                  → cohort, reached
/// * A9–A13: need loan; referral referred 03-01, accepted 03-15 and never started;
///   A13 closed 2024-03-31 (still open during part of H1).         → cohort, not reached
///
/// District 413 (Thị xã Cửa Lò)
/// * B1–B5: need employment; referred 03-10, accepted 03-20, in_service 04-01. → reached
/// * B6: need employment; referred 05-01, accepted 06-01, in_service 07-05
///   (service started after H1).                                  → cohort, not reached in H1
/// * B7: opened 2023-10-01, need health_care 2023-10-05; in_service 2023-12-01 (started
///   before H1), completed 2024-07-15 (after H1).                 → cohort, not reached in H1
/// * B8–B10: need counselling, no referral.                       → cohort, not reached
///
/// District 414 (Thị xã Thái Hoà): a small cell
/// * C1–C2: need health_care; referred 03-01, accepted 03-10, in_service 04-10. → reached
/// * C3: need health_care; referred 03-01 only; closed 2024-06-30. → cohort, not reached
///
/// Left out of the H1 cohort (all in 412, each with a need and a service in 2024):
/// * X1 case opened after H1 (2024-07-10; need 07-15; VT in_service 08-01);
/// * X2 closed before H1 (opened 2023-03-01, closed 2023-12-15, VT in_service 2023-06-01);
/// * X3 ineligible (otherwise like A1);
/// * X4 need recorded after H1 (health_care 2024-07-02; health_care in_service 05-01);
/// * X5 reporting consent withdrawn during H1 (2024-04-01; otherwise like A1);
/// * X6 erased (otherwise like A1);
/// * X7 never gave reporting consent (otherwise like A1).
///
/// Support contacts: A1 ×3 (02-01, 03-01, 04-01), A2 ×2, B1 ×1, X5 ×2 (left out), A3 on
/// 2024-07-02 (after H1).
async fn build(state: &AppState) -> Vec<Person> {
    let mut b = Builder::new(state).await;
    let vt_reached = [
        ("referred", "2024-02-01"),
        ("accepted", "2024-02-10"),
        ("in_service", "2024-03-01"),
    ];
    for i in 1..=8 {
        let id = b.client(&format!("A{i}"), "412", true, "2024-01-10", true).await;
        b.need(&id, "vocational_training", "2024-01-15").await;
        let mut moves = vt_reached.to_vec();
        if i <= 4 {
            moves.push(("completed", "2024-05-20"));
        }
        b.referral(&id, "vocational_training", &moves).await;
        match i {
            1 => {
                for on in ["2024-02-01", "2024-03-01", "2024-04-01"] {
                    b.support(&id, on).await;
                }
            }
            2 => {
                b.support(&id, "2024-02-15").await;
                b.support(&id, "2024-05-15").await;
            }
            3 => b.support(&id, "2024-07-02").await,
            _ => {}
        }
    }
    for i in 9..=13 {
        let id = b.client(&format!("A{i}"), "412", true, "2024-01-10", true).await;
        b.need(&id, "loan", "2024-01-15").await;
        b.referral(&id, "loan", &[("referred", "2024-03-01"), ("accepted", "2024-03-15")])
            .await;
        if i == 13 {
            b.close(&id, "2024-03-31").await;
        }
    }
    for i in 1..=5 {
        let id = b.client(&format!("B{i}"), "413", true, "2024-01-10", true).await;
        b.need(&id, "employment", "2024-01-15").await;
        b.referral(
            &id,
            "employment",
            &[
                ("referred", "2024-03-10"),
                ("accepted", "2024-03-20"),
                ("in_service", "2024-04-01"),
            ],
        )
        .await;
        if i == 1 {
            b.support(&id, "2024-06-30").await;
        }
    }
    let b6 = b.client("B6", "413", true, "2024-01-10", true).await;
    b.need(&b6, "employment", "2024-01-15").await;
    b.referral(
        &b6,
        "employment",
        &[
            ("referred", "2024-05-01"),
            ("accepted", "2024-06-01"),
            ("in_service", "2024-07-05"),
        ],
    )
    .await;
    let b7 = b.client("B7", "413", true, "2023-10-01", true).await;
    b.need(&b7, "health_care", "2023-10-05").await;
    b.referral(
        &b7,
        "health_care",
        &[
            ("referred", "2023-10-10"),
            ("accepted", "2023-11-05"),
            ("in_service", "2023-12-01"),
            ("completed", "2024-07-15"),
        ],
    )
    .await;
    for i in 8..=10 {
        let id = b.client(&format!("B{i}"), "413", true, "2024-01-10", true).await;
        b.need(&id, "counselling", "2024-01-15").await;
    }
    for i in 1..=3 {
        let id = b.client(&format!("C{i}"), "414", true, "2024-01-10", true).await;
        b.need(&id, "health_care", "2024-01-15").await;
        if i <= 2 {
            b.referral(
                &id,
                "health_care",
                &[
                    ("referred", "2024-03-01"),
                    ("accepted", "2024-03-10"),
                    ("in_service", "2024-04-10"),
                ],
            )
            .await;
        } else {
            b.referral(&id, "health_care", &[("referred", "2024-03-01")]).await;
            b.close(&id, "2024-06-30").await;
        }
    }
    // The edge cases left out of the H1 cohort.
    let x1 = b.client("X1", "412", true, "2024-07-10", true).await;
    b.need(&x1, "vocational_training", "2024-07-15").await;
    b.referral(
        &x1,
        "vocational_training",
        &[
            ("referred", "2024-07-16"),
            ("accepted", "2024-07-20"),
            ("in_service", "2024-08-01"),
        ],
    )
    .await;
    let x2 = b.client("X2", "412", true, "2023-03-01", true).await;
    b.need(&x2, "vocational_training", "2023-03-05").await;
    b.referral(
        &x2,
        "vocational_training",
        &[
            ("referred", "2023-04-01"),
            ("accepted", "2023-04-10"),
            ("in_service", "2023-06-01"),
        ],
    )
    .await;
    b.close(&x2, "2023-12-15").await;
    let x3 = b.client("X3", "412", false, "2024-01-10", true).await;
    b.need(&x3, "vocational_training", "2024-01-15").await;
    b.referral(&x3, "vocational_training", &vt_reached).await;
    let x4 = b.client("X4", "412", true, "2024-01-10", true).await;
    b.need(&x4, "health_care", "2024-07-02").await;
    b.referral(
        &x4,
        "health_care",
        &[
            ("referred", "2024-04-01"),
            ("accepted", "2024-04-10"),
            ("in_service", "2024-05-01"),
        ],
    )
    .await;
    let x5 = b.client("X5", "412", true, "2024-01-10", false).await;
    b.consent(&x5, "2024-01-10", Some("2024-04-01")).await;
    b.need(&x5, "vocational_training", "2024-01-15").await;
    b.referral(&x5, "vocational_training", &vt_reached).await;
    b.support(&x5, "2024-02-01").await;
    b.support(&x5, "2024-03-01").await;
    let x6 = b.client("X6", "412", true, "2024-01-10", true).await;
    b.need(&x6, "vocational_training", "2024-01-15").await;
    b.referral(&x6, "vocational_training", &vt_reached).await;
    b.support(&x6, "2024-03-01").await;
    state
        .clients
        .erase(
            &x6,
            None,
            chrono::Utc::now(),
            (&state.audit_log, crate::kit::test_erasure()),
        )
        .await
        .unwrap();
    let x7 = b.client("X7", "412", true, "2024-01-10", false).await;
    b.need(&x7, "vocational_training", "2024-01-15").await;
    b.referral(&x7, "vocational_training", &vt_reached).await;
    b.people
}

/// The districts of the seed in code order (the rows of `by_area`).
const DISTRICTS: [&str; 21] = [
    "412", "413", "414", "415", "416", "417", "418", "419", "420", "421", "422", "423", "424", "425", "426", "427",
    "428", "429", "430", "431", "432",
];

fn show(c: Cell) -> Value {
    match c {
        Cell::Shown(n) => json!(n),
        Cell::Suppressed => json!("<5"),
    }
}

/// The expected `by_area` and indicator from hand-counted (cohort, reached) per district:
/// the protection itself is the (separately tested) disclosure module's.
/// `(area, cohort, reached)` rows as published, and the province `(cohort, reached)`.
type ExpectedRates = (Vec<(String, Value, Value)>, (Value, Value));

fn expected_rates(hand: &[(&str, u64, u64)]) -> ExpectedRates {
    let rows: Vec<RateRow> = DISTRICTS
        .iter()
        .map(|d| {
            let (cohort, reached) = hand
                .iter()
                .find(|(code, _, _)| code == d)
                .map_or((0, 0), |(_, c, r)| (*c, *r));
            RateRow { cohort, reached }
        })
        .collect();
    let total = RateRow {
        cohort: rows.iter().map(|r| r.cohort).sum(),
        reached: rows.iter().map(|r| r.reached).sum(),
    };
    let (protected, total) = protect_rates(&rows, &total, &DisclosureRules::default());
    (
        DISTRICTS
            .iter()
            .zip(protected)
            .map(|(d, p)| ((*d).to_owned(), show(p.cohort), show(p.reached)))
            .collect(),
        (show(total.cohort), show(total.reached)),
    )
}

/// The true `(cohort, reached)` by recorded area of a release period (no protection).
async fn true_pairs(state: &AppState, from: &str, to: &str) -> BTreeMap<String, (u64, u64)> {
    let window = compute::Window {
        from: date(from),
        to: date(to),
        as_of: date(to),
        today: state.clock.today(),
    };
    let figures = compute::figures(&state.db, window, true, compute::Scope::Release)
        .await
        .unwrap();
    let mut pairs = BTreeMap::new();
    for (area, pair) in figures.by_area {
        let entry: &mut (u64, u64) = pairs.entry(area).or_default();
        entry.0 += pair.cohort;
        entry.1 += pair.reached;
    }
    pairs
}

/// Every count a release (or progress) shows, by its place, found by walking the JSON
/// without the library's help: `.indicator.cohort`, `.by_area.412.reached`,
/// `.referrals.rows.loan.counts.3`, `.support.clients`, …, plus the not-reached count
/// `cohort − reached` implied wherever both are shown. Rates, the target and the metadata
/// are not counts.
fn shown_counts(release: &Value) -> BTreeMap<String, u64> {
    fn walk(value: &Value, path: String, out: &mut BTreeMap<String, u64>) {
        match value {
            Value::Number(n) => {
                if let Some(n) = n.as_u64() {
                    out.insert(path, n);
                }
            }
            Value::Object(map) => {
                for (key, v) in map {
                    if !["rate", "target", "version", "min_cell", "rounded_to"].contains(&key.as_str()) {
                        walk(v, format!("{path}.{key}"), out);
                    }
                }
                if let (Some(c), Some(r)) = (
                    map.get("cohort").and_then(Value::as_u64),
                    map.get("reached").and_then(Value::as_u64),
                ) {
                    out.insert(format!("{path}.not_reached"), c - r);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let id = item
                        .get("area")
                        .or_else(|| item.get("category"))
                        .and_then(Value::as_str)
                        .map_or_else(|| i.to_string(), str::to_owned);
                    walk(item, format!("{path}.{id}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(release, String::new(), &mut out);
    out
}

/// The counts shown in both whose difference is 1..4 (what subtracting them would reveal).
fn small_differences(a: &Value, b: &Value) -> Vec<(String, u64, u64)> {
    let (a, b) = (shown_counts(a), shown_counts(b));
    a.iter()
        .filter_map(|(place, x)| {
            let y = b.get(place)?;
            (1..5).contains(&x.abs_diff(*y)).then(|| (place.clone(), *x, *y))
        })
        .collect()
}

fn assert_no_small_difference(a: &Value, b: &Value) {
    let found = small_differences(a, b);
    assert!(found.is_empty(), "derivable small differences: {found:?}");
}

fn category<'a>(release: &'a Value, code: &str) -> &'a Value {
    release["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["category"] == code)
        .unwrap()
}

fn area<'a>(release: &'a Value, code: &str) -> &'a Value {
    release["by_area"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["area"] == code)
        .unwrap()
}

async fn start() -> (TestEnv, TestServer) {
    let mut env = TestEnv::new().await;
    env.settings.auth.mfa_required_roles.clear();
    let state = env.state().await;
    let server = TestServer::start(state).await;
    (env, server)
}

async fn publish(api: &Api, body: Value) -> reqwest::Response {
    api.post("/api/v1/stats/releases", body).send().await.unwrap()
}

#[tokio::test]
async fn the_hand_built_data_set_gives_the_worked_answers() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    build(&state).await;
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    let manager = Api::login(&server, "qly.tinh").await;

    let res = publish(&manager, json!({"period": "2024-H1"})).await;
    assert_eq!(res.status(), 201);
    let h1: Value = res.json().await.unwrap();
    assert_eq!(h1["period"], "2024-H1");
    assert_eq!(
        (h1["period_from"].as_str(), h1["period_to"].as_str()),
        (Some("2024-01-01"), Some("2024-06-30"))
    );
    assert_eq!(h1["version"], 1);
    assert_eq!(h1["min_cell"], 5);
    assert!(h1["audit_head"].as_str().unwrap().contains(':'));

    // Indicator, 2024-H1. Cohort: 412 = A1–A13 (13), 413 = B1–B10 (10), 414 = C1–C3 (3);
    // none of X1–X7. Reached: A1–A8 (8), B1–B5 (5), C1–C2 (2). Province 26 / 15.
    let (rows, (cohort, reached)) = expected_rates(&[("412", 13, 8), ("413", 10, 5), ("414", 3, 2)]);
    assert_eq!(
        (h1["indicator"]["cohort"].clone(), h1["indicator"]["reached"].clone()),
        (cohort, reached)
    );
    assert_eq!(h1["indicator"]["cohort"], 26, "the province total stays shown");
    assert_eq!(h1["indicator"]["reached"], 15);
    assert_eq!(h1["indicator"]["rate"], 0.5769); // 15 / 26
    assert_eq!(h1["indicator"]["target"], 0.6);
    let by_area = h1["by_area"].as_array().unwrap();
    assert_eq!(by_area.len(), 21);
    for (row, (code, cohort, reached)) in by_area.iter().zip(&rows) {
        assert_eq!(row["area"], code.as_str());
        assert_eq!((&row["cohort"], &row["reached"]), (cohort, reached), "area {code}");
        let both_shown = row["cohort"].is_u64() && row["reached"].is_u64();
        assert_eq!(row["rate"].is_number(), both_shown && row["cohort"] != 0, "area {code}");
    }
    assert_eq!(area(&h1, "412")["area_name"], "Thành phố Vinh");
    // 414 has 3 clients of whom 2 reached: both hidden, as text, never numbers.
    assert_eq!(area(&h1, "414")["cohort"], "<5");
    assert_eq!(area(&h1, "414")["reached"], "<5");
    assert!(area(&h1, "414")["rate"].is_null());
    // 412 stays shown (the secondary suppression hides the smaller 413 instead).
    assert_eq!(
        (area(&h1, "412")["cohort"].clone(), area(&h1, "412")["reached"].clone()),
        (json!(13), json!(8))
    );
    assert_eq!(area(&h1, "415")["cohort"], 0);

    // By category, 2024-H1 (each protected on its own):
    // vocational_training: A1–A8 need it, all reached → 8 / 8;
    // loan: A9–A13 → 5 / 0 (accepted, never started);
    // employment: B1–B6 → 6, reached B1–B5 = 5; 6 − 5 = 1 is small → reached hidden;
    // health_care: B7, C1–C3 → 4 (hidden), reached C1, C2 (B7 served outside H1; X4's
    //   need came after H1);
    // counselling: B8–B10 → 3 (hidden), reached 0 (zero is shown; the rate is not);
    // legal_aid, social_assistance: 0 / 0.
    let cat = |code: &str| {
        (
            category(&h1, code)["cohort"].clone(),
            category(&h1, code)["reached"].clone(),
        )
    };
    assert_eq!(cat("vocational_training"), (json!(8), json!(8)));
    assert_eq!(category(&h1, "vocational_training")["rate"], 1.0);
    assert_eq!(cat("loan"), (json!(5), json!(0)));
    assert_eq!(category(&h1, "loan")["rate"], 0.0);
    assert_eq!(cat("employment"), (json!(6), json!("<5")));
    assert!(category(&h1, "employment")["rate"].is_null());
    assert_eq!(cat("health_care"), (json!("<5"), json!("<5")));
    assert_eq!(cat("counselling"), (json!("<5"), json!(0)));
    assert!(category(&h1, "counselling")["rate"].is_null());
    assert_eq!(cat("legal_aid"), (json!(0), json!(0)));
    assert_eq!(category(&h1, "vocational_training")["category_name"], "Đào tạo nghề");

    // New intakes in H1: A1–A13, B1–B6, B8–B10, C1–C3 (25) and X3 (ineligible, still an
    // intake) and X4 (need later, still an intake) = 27. Not B7 (2023), X1 (July), X2
    // (2023), X5 (withdrew), X6 (erased), X7 (no consent).
    assert_eq!(h1["new_intakes"], 27);
    // Active caseload at the end of 2024-06-30: the 27 above and B7, less A13 (closed
    // 03-31) and C3 (closed on 06-30, the last day) = 26.
    assert_eq!(h1["active_caseload"], 26);

    // Referrals that moved in H1, by category × status at the end of H1 (X3 and X4 count:
    // the table is not limited to the cohort, only to clients who consented):
    //   vocational_training: in_service A5–A8 + X3 = 5, completed A1–A4 = 4;
    //   employment: in_service B1–B5 = 5, accepted B6 = 1;
    //   loan: accepted A9–A13 = 5;
    //   health_care: referred C3 = 1, in_service C1, C2, X4 = 3 (B7 did not move in H1).
    let statuses = [
        "referred",
        "accepted",
        "declined",
        "cancelled",
        "in_service",
        "completed",
        "dropped_out",
    ];
    assert_eq!(h1["referrals"]["statuses"], json!(statuses));
    let categories = [
        "vocational_training",
        "employment",
        "loan",
        "health_care",
        "counselling",
        "legal_aid",
        "social_assistance",
    ];
    let hand: Vec<Vec<u64>> = vec![
        vec![0, 0, 0, 0, 5, 4, 0],
        vec![0, 1, 0, 0, 5, 0, 0],
        vec![0, 5, 0, 0, 0, 0, 0],
        vec![1, 0, 0, 0, 3, 0, 0],
        vec![0; 7],
        vec![0; 7],
        vec![0; 7],
    ];
    let table = CountTable::from_cells(hand);
    assert_eq!(table.total, 24);
    let expected = protect_table(&table, &DisclosureRules::default());
    let rows = h1["referrals"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    for (r, code) in categories.iter().enumerate() {
        assert_eq!(rows[r]["category"], *code);
        let counts: Vec<Value> = expected.cells[r].iter().map(|c| show(*c)).collect();
        assert_eq!(rows[r]["counts"], json!(counts), "{code}");
        assert_eq!(rows[r]["total"], show(expected.row_totals[r]), "{code}");
    }
    let totals: Vec<Value> = expected.col_totals.iter().map(|c| show(*c)).collect();
    assert_eq!(h1["referrals"]["totals"], json!(totals));
    assert_eq!(h1["referrals"]["total"], show(expected.total));
    // In so small a table much is hidden; what stays shown is the true count.
    assert_eq!(h1["referrals"]["rows"][0]["total"], 9, "vocational_training");
    assert_eq!(h1["referrals"]["totals"][4], 13, "in_service");
    assert_eq!(h1["referrals"]["total"], 24);
    assert_eq!(h1["referrals"]["rows"][1]["counts"][1], "<5", "employment accepted (1)");

    // Support in H1: A1 ×3, A2 ×2, B1 ×1 = 6 contacts for 3 clients (hidden). Not X5
    // (withdrew), X6 (erased) or A3's contact of 07-02.
    assert_eq!(h1["support"]["contacts"], 6);
    assert_eq!(h1["support"]["clients"], "<5");

    // Year 2024: X1 (opened July, reached 08-01) and X4 (need 07-02, reached 05-01) join
    // 412 → 15 / 10; in 413 B6 (07-05) and B7 (completed 07-15) are now reached → 10 / 7;
    // 414 stays 3 / 2. Province 28 / 19.
    let year_truth = true_pairs(&state, "2024-01-01", "2024-12-31").await;
    assert_eq!(year_truth["412"], (15, 10));
    assert_eq!(year_truth["413"], (10, 7));
    assert_eq!(year_truth["414"], (3, 2));
    assert_eq!(year_truth.values().map(|p| p.0).sum::<u64>(), 28);
    assert_eq!(year_truth.values().map(|p| p.1).sum::<u64>(), 19);
    // Published after H1 (which it holds), the year shows a count only when it is not within
    // 1..4 of H1's: the province's 28 / 19 next to H1's 26 / 15 would tell that two more
    // clients joined and four more were reached in H2, so both are hidden.
    let res = publish(&manager, json!({"period": "2024"})).await;
    assert_eq!(res.status(), 201);
    let year: Value = res.json().await.unwrap();
    let true_or_hidden = |published: &Value, truth: u64| published == truth || published == "<5";
    assert_eq!(h1["indicator"]["cohort"], 26);
    assert_eq!(year["indicator"]["cohort"], "<5");
    assert_eq!(year["indicator"]["reached"], "<5");
    for row in year["by_area"].as_array().unwrap() {
        let (cohort, reached) = year_truth
            .get(row["area"].as_str().unwrap())
            .copied()
            .unwrap_or_default();
        assert!(true_or_hidden(&row["cohort"], cohort), "{row}");
        assert!(true_or_hidden(&row["reached"], reached), "{row}");
    }
    assert_eq!(area(&year, "413")["reached"], "<5", "10 − 7 = 3 not reached is small");
    assert_no_small_difference(&year, &h1);

    // An ad-hoc range of whole months (with a reason): March 2024 only. Cohort: the H1 cohort
    // is open in March with its needs (A13 closed on 03-31, still open in March): 412 = 13,
    // 413 = 10, 414 = 3. Reached in March: A1–A8 (in_service 03-01) only; B1–B5 started
    // 04-01, C1–C2 04-10. These are the true counts; the release nests in the year published
    // above, so each count is shown only if it is not within 1..4 of the year's.
    let truth = true_pairs(&state, "2024-03-01", "2024-03-31").await;
    assert_eq!(truth["412"], (13, 8));
    assert_eq!(truth["413"], (10, 0));
    assert_eq!(truth["414"], (3, 0));
    let res = publish(
        &manager,
        json!({"period": {"from": "2024-03-01", "to": "2024-03-31"}, "reason": "Báo cáo quý cho Sở"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let march: Value = res.json().await.unwrap();
    assert_eq!(march["period"], "2024-03-01..2024-03-31");
    // Every count shown is the true one (and hidden ones are "<5").
    assert!(true_or_hidden(&march["indicator"]["cohort"], 26));
    assert!(true_or_hidden(&march["indicator"]["reached"], 8));
    for row in march["by_area"].as_array().unwrap() {
        let (cohort, reached) = truth.get(row["area"].as_str().unwrap()).copied().unwrap_or_default();
        assert!(true_or_hidden(&row["cohort"], cohort), "{row}");
        assert!(true_or_hidden(&row["reached"], reached), "{row}");
    }
    // 412: 13 with 8 reached, as in H1 (a difference of 0 tells nothing); the year's 15 / 10,
    // which would be 2 away, are hidden.
    assert_eq!(area(&march, "412")["cohort"], 13);
    assert_eq!(area(&march, "412")["reached"], 8);
    assert_eq!(area(&year, "412")["cohort"], "<5");
    assert_no_small_difference(&year, &march);
    assert_no_small_difference(&h1, &march);

    // Live progress of the current half-year up to yesterday: every figure is dated in
    // 2023–2024, so nobody is reached now; the cohort is the clients still open with consent
    // and a need: A1–A12, B1–B10, C1–C2, X1, X4 = 26, published rounded to 25.
    let today = state.clock.today();
    let (_, window) = release::progress_window(today).unwrap();
    let figures = compute::figures(&state.db, window, true, compute::Scope::Progress)
        .await
        .unwrap();
    assert_eq!(figures.total().cohort, 26);
    let vt = figures
        .by_category
        .iter()
        .find(|(c, _)| c == "vocational_training")
        .unwrap();
    assert_eq!(vt.1.cohort, 9); // A1–A8, X1
    let res = manager.get("/api/v1/stats/progress").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let progress: Value = res.json().await.unwrap();
    assert_eq!(progress["indicator"]["cohort"], 25);
    assert_eq!(progress["indicator"]["reached"], 0);
    assert_eq!(progress["indicator"]["rate"], 0.0);
    assert_eq!(progress["rounded_to"], 5);
    assert!(progress.get("by_area").is_none(), "no area rows in live progress");
    assert_eq!(category(&progress, "vocational_training")["cohort"], 10);
    assert_eq!(progress["as_of"], today.pred_opt().unwrap().to_string());
}

#[tokio::test]
async fn releases_are_stored_versioned_and_the_same_for_every_manager() {
    let (env, server) = start().await;
    let state = server.state.clone();
    let people = build(&state).await;
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    add_user(&state, "qly.tinh2", Role::Manager, "40").await;
    add_user(&state, "qly.vinh", Role::Manager, "412").await;
    let manager = Api::login(&server, "qly.tinh").await;
    let other = Api::login(&server, "qly.tinh2").await;
    let district = Api::login(&server, "qly.vinh").await;

    let res = publish(&manager, json!({"period": "2024-H1"})).await;
    assert_eq!(res.status(), 201);
    let published = res.text().await.unwrap();
    let first: Value = serde_json::from_str(&published).unwrap();
    let id = first["id"].as_str().unwrap().to_owned();

    // Two managers read the same bytes, which are the stored bytes.
    let path = format!("/api/v1/stats/releases/{id}");
    let a = manager.get(&path).send().await.unwrap();
    assert_eq!(a.headers()["content-type"], "application/json");
    let a = a.bytes().await.unwrap();
    let b = other.get(&path).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a, published.as_bytes());
    let stored: String = sqlx::query_scalar("SELECT body FROM stats_releases WHERE id = $1")
        .bind(&id)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.as_bytes(), &a[..]);
    let rules: String = sqlx::query_scalar("SELECT rules FROM stats_releases WHERE id = $1")
        .bind(&id)
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    let rules: Value = serde_json::from_str(&rules).unwrap();
    assert_eq!(rules["min_cell"], 5);
    assert_eq!(rules["require_reporting_consent"], true);

    // The release does not move when the data changes afterwards.
    let late = people.iter().find(|p| p.name.ends_with(" B8")).unwrap();
    sqlx::query(
        "INSERT INTO referrals (id, client_id, category, status, referred_on, last_moved_on, created_at) \
         VALUES ('late-ref', $1, 'counselling', 'in_service', '2024-06-01', '2024-06-02', '2024-07-03T00:00:00Z')",
    )
    .bind(&late.id)
    .execute(&state.db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO referral_events (id, referral_id, client_id, to_status, on_date, at) \
         VALUES ('late-ev', 'late-ref', $1, 'in_service', '2024-06-02', '2024-07-03T00:00:00Z')",
    )
    .bind(&late.id)
    .execute(&state.db.pool)
    .await
    .unwrap();
    let again = manager.get(&path).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(again, a);

    // A district manager sees only their district's row, and the province totals.
    let res = district.get(&path).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mine: Value = res.json().await.unwrap();
    let rows = mine["by_area"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["area"], "412");
    assert_eq!(mine["indicator"], first["indicator"]);
    assert_eq!(mine["by_category"], first["by_category"]);
    assert_eq!(mine["audit_head"], first["audit_head"]);
    // …and may not publish.
    let res = publish(&district, json!({"period": "2023"})).await;
    assert_eq!(res.status(), 403);

    // Publishing the same period again needs a reason; then it is version 2.
    let res = publish(&manager, json!({"period": "2024-H1"})).await;
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert!(err["error"]["fields"]["reason"].is_string(), "{err}");
    let res = publish(&manager, json!({"period": "2024-H1", "reason": "  "})).await;
    assert_eq!(res.status(), 422);
    // A custom range with the same days is the same period.
    let res = publish(&manager, json!({"period": {"from": "2024-01-01", "to": "2024-06-30"}})).await;
    assert_eq!(res.status(), 422);
    let res = publish(
        &manager,
        json!({"period": "2024-H1", "reason": "Bổ sung hồ sơ giấy nhập muộn"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["version"], 2);
    assert_eq!(second["reason"], "Bổ sung hồ sơ giấy nhập muộn");
    assert_ne!(second["id"], first["id"]);
    // The late referral is in version 2: B8 now reached in counselling.
    assert_ne!(second["by_category"], first["by_category"]);
    // Both versions are kept and listed, and the first is unchanged.
    let list: Value = manager
        .get("/api/v1/stats/releases")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["version"], 2);
    assert_eq!(items[1]["version"], 1);
    assert!(items.iter().all(|i| i["period"] == "2024-H1"));
    let first_again = manager.get(&path).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(first_again, a);

    // Publications are audited, with the release id.
    let entries = state
        .audit_log
        .list(&hoanhap::audit::Filter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let published: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "stats_publish" && e.outcome == "success")
        .collect();
    assert_eq!(published.len(), 2);
    assert!(published.iter().any(|e| e.object_id.as_deref() == Some(id.as_str())));
    drop(env);
}

/// Every text a manager can get: JSON, CSV, XLSX (unzipped) and the pages.
#[tokio::test]
async fn nothing_a_manager_gets_names_a_client() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    let people = build(&state).await;
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    add_user(&state, "qly.vinh", Role::Manager, "412").await;
    let manager = Api::login(&server, "qly.tinh").await;
    let district = Api::login(&server, "qly.vinh").await;

    let res = publish(&manager, json!({"period": "2024-H1"})).await;
    assert_eq!(res.status(), 201);
    let release: Value = res.json().await.unwrap();
    let id = release["id"].as_str().unwrap().to_owned();
    let mut texts: Vec<(String, String)> = vec![("publish".into(), release.to_string())];

    for (api, province) in [(&manager, true), (&district, false)] {
        for path in [
            "/api/v1/stats/releases".to_owned(),
            format!("/api/v1/stats/releases/{id}"),
            "/api/v1/stats/progress".to_owned(),
            "/stats".to_owned(),
            "/stats?lang=en".to_owned(),
            format!("/stats/releases/{id}"),
            format!("/stats/releases/{id}?lang=en"),
        ] {
            let res = api.get(&path).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            texts.push((path, res.text().await.unwrap()));
        }

        // CSV: a BOM, Vietnamese headings, the recipient, the rules, the legend, the head.
        let res = api
            .get(&format!("/api/v1/stats/releases/{id}.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("hoanhap-2024-H1-v1.csv")
        );
        let bytes = res.bytes().await.unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()));
        let csv = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(csv.contains(&state.settings.programme.report_recipient));
        assert!(csv.contains("Kỳ báo cáo,2024-H1 (2024-01-01 – 2024-06-30)"), "{csv}");
        assert!(csv.contains("Ngưỡng hiển thị tối thiểu,5"));
        assert!(csv.contains(release["audit_head"].as_str().unwrap()));
        assert!(csv.contains("Chú giải,\"“<5”: ít hơn ngưỡng hiển thị"), "{csv}");
        assert!(csv.contains("Toàn tỉnh,26,15,\"57,7 %\",\"60,0 %\""), "{csv}");
        assert_eq!(
            csv.contains("414,Thị xã Thái Hoà,<5,<5,không hiển thị"),
            province,
            "{csv}"
        );
        assert_eq!(csv.contains("415,Huyện Quế Phong,0,0,–"), province, "{csv}");
        texts.push(("csv".into(), csv));

        let res = api
            .get(&format!("/api/v1/stats/releases/{id}.xlsx"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let bytes = res.bytes().await.unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let mut xml = String::new();
        for i in 0..zip.len() {
            let mut file = zip.by_index(i).unwrap();
            std::io::Read::read_to_string(&mut file, &mut xml).unwrap();
        }
        assert!(xml.contains("Toàn tỉnh"));
        assert!(xml.contains("&lt;5"));
        assert!(xml.contains(&state.settings.programme.report_recipient));
        texts.push(("xlsx".into(), xml));
    }
    // The district manager's file has only their district.
    let district_csv = &texts.iter().rev().find(|(p, _)| p == "csv").unwrap().1;
    assert!(district_csv.contains("412,Thành phố Vinh"));
    assert!(!district_csv.contains("413,"));

    let res = manager.get("/api/v1/stats/releases/nope.pdf").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = manager.get("/api/v1/stats/releases/nope").send().await.unwrap();
    assert_eq!(res.status(), 404);

    assert_eq!(people.len(), 33);
    for (where_, text) in &texts {
        for p in &people {
            assert!(!text.contains(&p.code), "{where_} names client code {}", p.code);
            assert!(!text.contains(&p.id), "{where_} names client id {}", p.id);
            assert!(!text.contains(&p.name), "{where_} names {}", p.name);
            assert!(!text.contains("Bí danh"), "{where_} holds a chosen name");
        }
    }

    // Exports are audited.
    let entries = state
        .audit_log
        .list(&hoanhap::audit::Filter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let exports = entries.iter().filter(|e| e.action == "stats_export").count();
    assert_eq!(exports, 4);
}

#[tokio::test]
async fn pages_draw_the_release_against_the_target() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    build(&state).await;
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    let manager = Api::login(&server, "qly.tinh").await;

    // Before any release: the page says so and still shows live progress.
    let res = manager.get("/stats").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<svg"), "live progress chart");

    let res = publish(&manager, json!({"period": "2024-H1"})).await;
    let release: Value = res.json().await.unwrap();
    let id = release["id"].as_str().unwrap();

    let html = manager.get("/stats").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"vi\""));
    assert!(html.contains("<svg"));
    assert!(html.contains("<title>"));
    assert!(html.contains(&format!("/stats/releases/{id}")));
    assert!(html.contains("&lt;5"));
    assert!(!html.contains("<script"));
    assert!(html.contains("Thành phố Vinh"));
    // 412: 8 of 13 = 61.5 %; the bar's title says so.
    assert!(html.contains("61,5 %"), "{html}");

    let html = manager
        .get(&format!("/stats/releases/{id}?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\""));
    assert!(html.contains("61.5 %"));
    assert!(html.contains("Vocational training"));
    assert!(html.contains(&format!("/api/v1/stats/releases/{id}.csv")));
    assert!(html.contains(&format!("/api/v1/stats/releases/{id}.xlsx")));

    let res = manager.get("/stats/releases/no-such-release").send().await.unwrap();
    assert_eq!(res.status(), 404);

    // The publish form (no script): a year, then the same year again without a reason.
    let form = |fields: &[(&str, &str)]| {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("csrf_token", &manager.csrf);
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        manager
            .http
            .post(format!("{}/stats/releases", manager.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish())
    };
    let res = form(&[("period", "2024"), ("reason", "")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.url().path().starts_with("/stats/releases/"), "{}", res.url());
    let res = form(&[("period", "2024")]).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    // (English: the language chosen with ?lang=en above is remembered.)
    assert!(html.contains("This period was published before"), "{html}");
    // A range of whole months needs a reason; with one it is published.
    let res = form(&[("from", "01/02/2024"), ("to", "29/02/2024")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("give a reason to publish it"));
    let res = form(&[
        ("from", "01/02/2024"),
        ("to", "29/02/2024"),
        ("reason", "Số liệu tháng 2 cho hội nghị"),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("2024-02-01..2024-02-29"));
    let list: Value = manager
        .get("/api/v1/stats/releases")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);

    // Another role gets the forbidden page.
    add_user(&state, "cb.xh", Role::SocialWorker, "412").await;
    let worker = Api::login(&server, "cb.xh").await;
    let res = worker.get("/stats").send().await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn only_managers_see_statistics_and_only_closed_periods_are_published() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    let manager = Api::login(&server, "qly.tinh").await;

    // Every statistics route is in the OpenAPI document.
    let doc: Value = crate::kit::http_client()
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/stats/releases",
        "/api/v1/stats/releases/{id}",
        "/api/v1/stats/progress",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    assert!(doc["paths"]["/api/v1/stats/releases"]["post"].is_object());

    // Not logged in.
    let res = crate::kit::http_client()
        .get(server.url("/api/v1/stats/releases"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    for (name, role, area) in [
        ("admin1", Role::Admin, "40"),
        ("sup1", Role::Supervisor, "412"),
        ("sw1", Role::SocialWorker, "412"),
        ("vol1", Role::Volunteer, "412"),
        ("aud1", Role::Auditor, "40"),
    ] {
        add_user(&state, name, role, area).await;
        let api = Api::login(&server, name).await;
        for path in ["/api/v1/stats/releases", "/api/v1/stats/progress"] {
            let res = api.get(path).send().await.unwrap();
            assert_eq!(res.status(), 403, "{name} {path}");
        }
        let res = publish(&api, json!({"period": "2024-H1"})).await;
        assert_eq!(res.status(), 403, "{name}");
    }

    // The current half-year and today have not ended; malformed periods are refused.
    let today = state.clock.today();
    let current = hoanhap::stats::period::Period::half_year_of(today).unwrap();
    for period in [
        json!(current.label),
        json!({"from": "2024-01-01", "to": today.to_string()}),
        json!("2099"),
    ] {
        let res = publish(&manager, json!({ "period": period })).await;
        assert_eq!(res.status(), 422, "{period}");
        let err: Value = res.json().await.unwrap();
        assert!(err["error"]["fields"]["period"].is_string(), "{err}");
    }
    for period in [
        json!("2024-H3"),
        json!("H1-2024"),
        json!(2024),
        json!({"from": "2024-05-01", "to": "2024-04-01"}),
    ] {
        let res = publish(&manager, json!({ "period": period })).await;
        assert_eq!(res.status(), 422, "{period}");
    }
    let res = publish(&manager, json!({})).await;
    assert_eq!(res.status(), 422);
    let res = publish(&manager, json!({"period": "2024-H1", "extra": 1})).await;
    assert_eq!(res.status(), 422);
    // English messages on request.
    let res = manager
        .post("/api/v1/stats/releases", json!({"period": current.label}))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let err: Value = res.json().await.unwrap();
    assert!(
        err["error"]["fields"]["period"].as_str().unwrap().contains("not ended"),
        "{err}"
    );

    // Once the half-year is over (the clock moves on), it can be published: an empty
    // installation gives zeros, which are shown.
    let res = publish(&manager, json!({"period": "2024-H1"})).await;
    assert_eq!(res.status(), 201);
    let empty: Value = res.json().await.unwrap();
    assert_eq!(empty["indicator"]["cohort"], 0);
    assert!(empty["indicator"]["rate"].is_null());
    let days = (current.to - today).num_days() + 1;
    state.clock.advance(chrono::Duration::days(days));
    let manager = Api::login(&server, "qly.tinh").await;
    let res = publish(&manager, json!({"period": current.label})).await;
    assert_eq!(res.status(), 201);
}

// ---- attack 3 of issue 8: statistics that can be differenced ---------------------------

/// 25 clients of 412 reached in March, 12 of 413 never reached, and one client of 413
/// ("J") who reached a service on 30 June 2024: every release ending on 29 June and every
/// one ending on 30 June differ by exactly her.
async fn june_data(state: &AppState) {
    let mut b = Builder::new(state).await;
    for i in 0..25 {
        let id = b.client(&format!("M{i}"), "412", true, "2024-01-10", true).await;
        b.need(&id, "vocational_training", "2024-01-15").await;
        b.referral(
            &id,
            "vocational_training",
            &[
                ("referred", "2024-02-01"),
                ("accepted", "2024-02-10"),
                ("in_service", "2024-03-01"),
            ],
        )
        .await;
    }
    for i in 0..12 {
        let id = b.client(&format!("N{i}"), "413", true, "2024-01-10", true).await;
        b.need(&id, "loan", "2024-01-15").await;
        b.referral(&id, "loan", &[("referred", "2024-03-01"), ("accepted", "2024-03-15")])
            .await;
    }
    let j = b.client("J", "413", true, "2024-01-10", true).await;
    b.need(&j, "vocational_training", "2024-01-15").await;
    b.referral(
        &j,
        "vocational_training",
        &[
            ("referred", "2024-06-01"),
            ("accepted", "2024-06-10"),
            ("in_service", "2024-06-30"),
        ],
    )
    .await;
}

async fn stored_release(state: &AppState, id: &Value) -> Value {
    let body: String = sqlx::query_scalar("SELECT body FROM stats_releases WHERE id = $1")
        .bind(id.as_str().unwrap())
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// The attack exactly as reported: two ranges one day apart, both version 1, no reason.
#[tokio::test]
async fn two_releases_one_day_apart_are_not_both_published() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    june_data(&state).await;
    let all = true_pairs(&state, "2024-01-01", "2024-06-30").await;
    let but_one_day = true_pairs(&state, "2024-01-01", "2024-06-29").await;
    assert_eq!(
        all["413"].1,
        but_one_day["413"].1 + 1,
        "the data singles out one client"
    );
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    let manager = Api::login(&server, "qly.tinh").await;

    let res = publish(&manager, json!({"period": {"from": "2024-01-01", "to": "2024-06-29"}})).await;
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert!(err["error"]["fields"]["period"].is_string(), "{err}");
    // The same, with a reason and in English: still not a calendar period.
    let res = manager
        .post(
            "/api/v1/stats/releases",
            json!({"period": {"from": "2024-01-01", "to": "2024-06-29"}, "reason": "thử"}),
        )
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["error"]["fields"]["period"]
            .as_str()
            .unwrap()
            .contains("whole months"),
        "{err}"
    );
    // The range that is a half-year is that half-year.
    let res = publish(&manager, json!({"period": {"from": "2024-01-01", "to": "2024-06-30"}})).await;
    assert_eq!(res.status(), 201);
    let h1: Value = res.json().await.unwrap();
    assert_eq!(h1["period"], "2024-H1");
    assert_eq!(h1["version"], 1);
    // Whole months that are not a half-year or a year need a reason.
    let res = manager
        .post(
            "/api/v1/stats/releases",
            json!({"period": {"from": "2024-01-01", "to": "2024-05-31"}}),
        )
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["error"]["fields"]["reason"]
            .as_str()
            .unwrap()
            .contains("give a reason"),
        "{err}"
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stats_releases")
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

/// Whole months with a reason are published, but two overlapping ranges whose difference
/// is one client do not both show the counts that would reveal her.
#[tokio::test]
async fn overlapping_monthly_releases_cannot_be_differenced() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    june_data(&state).await;
    let a_truth = true_pairs(&state, "2024-01-01", "2024-05-31").await;
    let b_truth = true_pairs(&state, "2024-02-01", "2024-06-30").await;
    let reached = |t: &BTreeMap<String, (u64, u64)>| t.values().map(|p| p.1).sum::<u64>();
    assert_eq!(reached(&a_truth) + 1, reached(&b_truth), "J alone makes the difference");
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    let manager = Api::login(&server, "qly.tinh").await;

    let res = publish(
        &manager,
        json!({"period": {"from": "2024-01-01", "to": "2024-05-31"}, "reason": "Báo cáo 5 tháng"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["indicator"]["reached"], 25);
    let res = publish(
        &manager,
        json!({"period": {"from": "2024-02-01", "to": "2024-06-30"}, "reason": "Báo cáo tháng 2–6"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["version"], 1);
    assert_eq!(b["reason"], "Báo cáo tháng 2–6");
    // Then the half-year that holds both.
    let res = publish(&manager, json!({"period": "2024-H1"})).await;
    assert_eq!(res.status(), 201);
    let h1: Value = res.json().await.unwrap();

    let (a, b, h1) = (
        stored_release(&state, &a["id"]).await,
        stored_release(&state, &b["id"]).await,
        stored_release(&state, &h1["id"]).await,
    );
    assert_ne!(b["indicator"]["reached"], 26, "26 next to 25 would name J");
    assert_no_small_difference(&a, &b);
    assert_no_small_difference(&a, &h1);
    assert_no_small_difference(&b, &h1);
    // Still a release with figures: the cohort (38 in both) is shown.
    assert_eq!(b["indicator"]["cohort"], 38);
}

/// A year published after its two half-years: nothing derivable by subtraction is 1..4,
/// though the year protected on its own would show such differences.
#[tokio::test]
async fn a_year_after_both_half_years_shows_no_small_difference() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    build(&state).await;
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    let manager = Api::login(&server, "qly.tinh").await;
    let mut published = Vec::new();
    for period in ["2024-H1", "2024-H2", "2024"] {
        let res = publish(&manager, json!({ "period": period })).await;
        assert_eq!(res.status(), 201, "{period}");
        let r: Value = res.json().await.unwrap();
        published.push(stored_release(&state, &r["id"]).await);
    }
    let (h1, h2, year) = (&published[0], &published[1], &published[2]);
    assert_no_small_difference(year, h1);
    assert_no_small_difference(year, h2);

    // The year on its own (the old behaviour) would have given differences of 1..4.
    let rules = DisclosureRules::default();
    let period = hoanhap::stats::period::Period::year(2024).unwrap();
    let window = compute::Window {
        from: period.from,
        to: period.to,
        as_of: period.to,
        today: state.clock.today(),
    };
    let figures = compute::figures(&state.db, window, true, compute::Scope::Release)
        .await
        .unwrap();
    let alone = release::protect(
        release::Meta {
            id: "alone".into(),
            period,
            version: 1,
            published_at: "2025-01-02T00:00:00Z".into(),
            reason: None,
            audit_head: "0:".into(),
        },
        &figures,
        state.areas.current().all(),
        &state.settings.programme.province_area,
        &release::categories(&state.db).await.unwrap(),
        &rules,
    );
    let alone = serde_json::to_value(&alone).unwrap();
    let found = [small_differences(&alone, h1), small_differences(&alone, h2)].concat();
    assert!(!found.is_empty(), "the data set exercises linked protection");
}

/// Live progress is one stored, rounded snapshot a day.
#[tokio::test]
async fn progress_is_one_rounded_snapshot_a_day() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    let today = state.clock.today();
    let (period, window) = release::progress_window(today).unwrap();
    let opened = (period.from - chrono::Duration::days(10)).to_string();
    let start_day = period.from.to_string();
    let yesterday = window.as_of.to_string();
    let mut b = Builder::new(&state).await;
    let mut waiting = Vec::new();
    for i in 0..23 {
        let id = b.client(&format!("P{i}"), "412", true, &opened, true).await;
        b.need(&id, "vocational_training", &opened).await;
        if i < 12 {
            b.referral(
                &id,
                "vocational_training",
                &[("referred", &opened), ("accepted", &opened), ("in_service", &start_day)],
            )
            .await;
        } else {
            waiting.push(id);
        }
    }
    add_user(&state, "qly.tinh", Role::Manager, "40").await;
    add_user(&state, "qly.vinh", Role::Manager, "412").await;
    let manager = Api::login(&server, "qly.tinh").await;
    let district = Api::login(&server, "qly.vinh").await;
    let poll = |api: &Api| {
        let req = api.get("/api/v1/stats/progress");
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.bytes().await.unwrap()
        }
    };

    let first = poll(&manager).await;
    let day1: Value = serde_json::from_slice(&first).unwrap();
    // 23 with needs → 25; 12 reached → 10; the rate is of the rounded counts.
    assert_eq!(day1["indicator"]["cohort"], 25);
    assert_eq!(day1["indicator"]["reached"], 10);
    assert_eq!(day1["indicator"]["rate"], 0.4);
    assert_eq!(day1["as_of"], yesterday);

    // Three more clients reach a service (dated yesterday, recorded now): today's snapshot
    // does not move, for anyone.
    for id in waiting.iter().take(3) {
        b.referral(
            id,
            "vocational_training",
            &[("referred", &opened), ("accepted", &opened), ("in_service", &yesterday)],
        )
        .await;
    }
    assert_eq!(poll(&manager).await, first);
    assert_eq!(poll(&district).await, first);
    let snapshots: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stats_progress")
        .fetch_one(&state.db.pool)
        .await
        .unwrap();
    assert_eq!(snapshots, 1);

    // The next day: a new snapshot, which differs only by multiples of the rounding base.
    state.clock.advance(chrono::Duration::days(1));
    let manager = Api::login(&server, "qly.tinh").await;
    let next = poll(&manager).await;
    let day2: Value = serde_json::from_slice(&next).unwrap();
    assert_ne!(day2["as_of"], day1["as_of"]);
    for counts in [shown_counts(&day1), shown_counts(&day2)] {
        assert!(counts.values().all(|n| n % 5 == 0), "{counts:?}");
    }
    if day2["period"] == day1["period"] {
        let (a, b) = (shown_counts(&day1), shown_counts(&day2));
        for (place, x) in &a {
            if let Some(y) = b.get(place) {
                assert_eq!(x.abs_diff(*y) % 5, 0, "{place}: {x} then {y}");
            }
        }
        // 15 reached now: the three show up the next day, rounded.
        assert_eq!(day2["indicator"]["reached"], 15);
    }
}

/// Issue 10's test: an installation with 2024 records imports the 2025 units with the
/// reform of 1 July 2025, the clients of Vinh (412) are moved to three of its wards, and
/// the release of 2025-H2 lists the wards, adds them up again to 412 with the totals of
/// before the reform, and shows no small count in either table or in their difference.
#[tokio::test]
async fn a_release_after_the_2025_reform_lists_wards_and_adds_them_up_to_the_2024_districts() {
    let (_env, server) = start().await;
    let state = server.state.clone();
    let mut b = Builder::new(&state).await;
    let mut vinh = Vec::new();
    for i in 0..30 {
        let id = b.client(&format!("V{i}"), "412", true, "2024-01-10", true).await;
        b.need(&id, "vocational_training", "2024-01-15").await;
        if i % 3 != 0 {
            b.referral(
                &id,
                "vocational_training",
                &[
                    ("referred", "2025-07-10"),
                    ("accepted", "2025-07-20"),
                    ("in_service", "2025-08-01"),
                ],
            )
            .await;
        }
        vinh.push(id);
    }
    for i in 0..8 {
        let id = b.client(&format!("C{i}"), "413", true, "2024-01-10", true).await;
        b.need(&id, "loan", "2024-01-15").await;
    }
    let codes: Vec<String> = b.people.iter().take(30).map(|p| p.code.clone()).collect();
    let period = hoanhap::stats::period::Period::half_year(2025, 2).unwrap();
    let window = compute::Window {
        from: period.from,
        to: period.to,
        as_of: period.to,
        today: state.clock.today(),
    };
    let unprotected = |figures: &compute::Figures, code: &str| {
        figures
            .by_area
            .iter()
            .find(|(area, _)| area == code)
            .map(|(_, p)| (p.cohort, p.reached))
    };
    let before = compute::figures(&state.db, window, true, compute::Scope::Release)
        .await
        .unwrap();
    assert_eq!(unprotected(&before, "412"), Some((30, 20)));

    // The reform, and the moves: 14, 13 and 3 clients to three wards.
    let csv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seed/areas-nghe-an-2025.csv")).unwrap();
    let admin = add_user(&state, "qtv", Role::Admin, "40").await;
    hoanhap::areas::service::import(&state, &admin, &csv, Some(date("2025-07-01")))
        .await
        .unwrap();
    add_user(&state, "gs.tinh", Role::Supervisor, "40").await;
    let supervisor = Api::login(&server, "gs.tinh").await;
    let wards = ["16681", "16690", "16702"];
    let moves: Vec<Value> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| json!({ "code": code, "to": wards[if i < 14 { 0 } else if i < 27 { 1 } else { 2 }] }))
        .collect();
    let res = supervisor
        .post("/api/v1/moves/clients", json!({ "on": "2025-07-01", "moves": moves }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after = compute::figures(&state.db, window, true, compute::Scope::Release)
        .await
        .unwrap();
    assert_eq!(
        unprotected(&after, "412"),
        None,
        "every client of 412 is in a ward at the period's end"
    );

    add_user(&state, "ql.tinh", Role::Manager, "40").await;
    let manager = Api::login(&server, "ql.tinh").await;
    let res = publish(&manager, json!({ "period": "2025-H2" })).await;
    assert_eq!(res.status(), 201);
    let published: Value = res.json().await.unwrap();
    let release = stored_release(&state, &published["id"]).await;

    // The wards of the period are listed; retired districts without clients are not.
    let listed: Vec<&str> = release["by_area"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["area"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed.len(),
        131,
        "the 130 units of 2025 and Cửa Lò, which this file does not retire"
    );
    assert!(wards.iter().all(|w| listed.contains(w)) && !listed.contains(&"412") && !listed.contains(&"414"));
    // Added up to the districts of 2024, 412 has its totals of before the reform.
    let former = |code: &str| {
        release["by_former_area"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["area"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("no {code} in {release}"))
    };
    assert_eq!(
        (former("412")["cohort"].clone(), former("412")["reached"].clone()),
        (json!(30), json!(20))
    );
    assert_eq!(former("413")["cohort"], 8);
    assert_eq!(release["by_former_area"].as_array().unwrap().len(), 21);

    // No small count is shown in either table, and the wards of 412 cannot be worked out
    // from its aggregated row: the small ward is hidden, and so is enough beside it.
    for table in ["by_area", "by_former_area"] {
        for row in release[table].as_array().unwrap() {
            for part in ["cohort", "reached"] {
                if let Some(n) = row[part].as_u64() {
                    assert!(!(1..5).contains(&n), "{table} {} {part} = {n}", row["area"]);
                }
            }
        }
    }
    let ward = |code: &str| {
        release["by_area"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["area"] == code)
            .cloned()
            .unwrap()
    };
    assert_eq!(ward("16702")["cohort"], "<5");
    for part in ["cohort", "reached"] {
        let shown: Vec<u64> = wards.iter().filter_map(|w| ward(w)[part].as_u64()).collect();
        let hidden = wards.len() - shown.len();
        assert_ne!(
            hidden, 1,
            "one hidden {part} would be the aggregated row minus the others"
        );
        if hidden > 1 {
            let rest = former("412")[part].as_u64().unwrap() - shown.iter().sum::<u64>();
            assert!(!(1..5).contains(&rest), "the hidden wards' {part} add up to {rest}");
        }
    }
    // The release page shows both tables; the export carries the aggregated one too.
    let page = crate::kit::pages::PageClient::login(&server, "ql.tinh").await;
    let (status, html) = page
        .get(&format!("/stats/releases/{}", published["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Theo các huyện trước sắp xếp") && html.contains("id=\"former-areas\""),
        "{html}"
    );
    let csv = manager
        .get(&format!(
            "/api/v1/stats/releases/{}.csv",
            published["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let after_heading = csv
        .split("Theo các huyện trước sắp xếp")
        .nth(1)
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(after_heading.contains("412"), "{csv}");

    // Across the reform: the year 2025 lists the districts of its first half and the wards
    // of its second, each client under her ward at the year's end, and cannot be set
    // against the second half to single anyone out.
    let res = publish(&manager, json!({ "period": "2025" })).await;
    assert_eq!(res.status(), 201);
    let year: Value = res.json().await.unwrap();
    let year = stored_release(&state, &year["id"]).await;
    let listed: Vec<&str> = year["by_area"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["area"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&"412") && listed.contains(&"16681"), "{listed:?}");
    let vinh = year["by_area"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["area"] == "412")
        .unwrap();
    assert_eq!(vinh["cohort"], 0, "her area at the year's end is her ward");
    assert_no_small_difference(&year, &release);

    // A manager of one ward sees her ward's row, not the other wards'.
    add_user(&state, "ql.phuong", Role::Manager, wards[0]).await;
    let ward_manager = Api::login(&server, "ql.phuong").await;
    let res = ward_manager
        .get(&format!("/api/v1/stats/releases/{}", published["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen: Value = res.json().await.unwrap();
    let rows: Vec<&str> = seen["by_area"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["area"].as_str().unwrap())
        .collect();
    assert_eq!(rows, [wards[0]]);
    assert!(!crate::kit::captured_logs().contains("Khách Thử Nghiệm"));
}
