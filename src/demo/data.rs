//! The synthetic case work of `hoanhap demo`, done through the same authorised, audited
//! functions the API and the pages call, acting as the demo staff.
//!
//! Everything is drawn from a seeded RNG, and every date is counted back from
//! `state.clock.today()` and walked forward: intake, then needs, referrals and their moves,
//! support contacts, and a closure last, so no date is in the future or before the case was
//! opened. Every personal field says `DEMO`.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::AppState;
use crate::authz::Authz;
use crate::clients::Pii;
use crate::clients::service::{self, CloseInput, IntakeConsents, IntakeInput};
use crate::consents::{self, ConsentInput};
use crate::db::Engine;
use crate::needs::{self, NeedInput};
use crate::providers::{self, Provider, ProviderInput};
use crate::referrals::{self, NewReferral, Status, TransitionInput};
use crate::stats::period::Period;
use crate::stats::release::Release;
use crate::volunteers::{self, AssignInput, SupportLogInput};
use crate::web::{ApiError, Lang};

/// The same data on every run (dates move with today).
const SEED: u64 = 2024_0412;

/// How likely a long case takes a further service every few months.
const RECURRING: f64 = 0.5;

const FAMILY: [&str; 12] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
];
const GIVEN: [&str; 16] = [
    "Hoa", "Lan", "Mai", "Hương", "Thu", "Hạnh", "Nga", "Linh", "Trang", "Yến", "Phương", "Thảo", "Hà", "Vân", "Ngọc",
    "Huyền",
];

/// Service categories with example need details (all marked DEMO).
const NEEDS: [(&str, &[&str]); 7] = [
    (
        "vocational_training",
        &[
            "DEMO: muốn học nghề may công nghiệp",
            "DEMO: muốn học nghề làm tóc",
            "DEMO: muốn học nấu ăn",
        ],
    ),
    (
        "employment",
        &[
            "DEMO: cần việc làm ổn định ban ngày",
            "DEMO: muốn làm công nhân khu công nghiệp",
        ],
    ),
    (
        "loan",
        &["DEMO: cần vay vốn mở quán nước", "DEMO: cần vay vốn buôn bán nhỏ"],
    ),
    (
        "health_care",
        &[
            "DEMO: điều trị methadone",
            "DEMO: xét nghiệm và tư vấn HIV",
            "DEMO: khám và điều trị STI",
            "DEMO: khám sức khỏe sinh sản",
        ],
    ),
    (
        "counselling",
        &["DEMO: cần tư vấn tâm lý sau bạo lực", "DEMO: tư vấn hòa nhập gia đình"],
    ),
    (
        "legal_aid",
        &["DEMO: cần làm lại giấy tờ tùy thân", "DEMO: tư vấn pháp lý về hôn nhân"],
    ),
    (
        "social_assistance",
        &["DEMO: cần trợ cấp khó khăn đột xuất", "DEMO: hỗ trợ nhà ở tạm thời"],
    ),
];

/// Needs that usually come later in a case, once the first services are under way.
const LATER_NEEDS: [&str; 5] = [
    "employment",
    "loan",
    "vocational_training",
    "counselling",
    "social_assistance",
];

/// `(category, area, name, contact)`: the service-provider directory.
const PROVIDERS: [(&str, &str, &str, &str); 13] = [
    (
        "vocational_training",
        "412",
        "DEMO Trường Cao đẳng nghề Vinh",
        "DEMO 0238 000 0101",
    ),
    (
        "vocational_training",
        "421",
        "DEMO Trung tâm Giáo dục nghề nghiệp Quỳnh Lưu",
        "DEMO 0238 000 0102",
    ),
    (
        "vocational_training",
        "425",
        "DEMO Trung tâm Giáo dục nghề nghiệp Diễn Châu",
        "DEMO 0238 000 0103",
    ),
    (
        "employment",
        "40",
        "DEMO Trung tâm Dịch vụ việc làm Nghệ An",
        "DEMO 0238 000 0201",
    ),
    (
        "loan",
        "40",
        "DEMO Ngân hàng Chính sách xã hội – chi nhánh Nghệ An",
        "DEMO 0238 000 0301",
    ),
    (
        "health_care",
        "412",
        "DEMO Trung tâm Y tế thành phố Vinh",
        "DEMO 0238 000 0401",
    ),
    (
        "health_care",
        "421",
        "DEMO Trung tâm Y tế huyện Quỳnh Lưu",
        "DEMO 0238 000 0402",
    ),
    (
        "health_care",
        "425",
        "DEMO Trung tâm Y tế huyện Diễn Châu",
        "DEMO 0238 000 0403",
    ),
    (
        "counselling",
        "40",
        "DEMO Phòng tư vấn tâm lý – Hội Liên hiệp Phụ nữ tỉnh",
        "DEMO 0238 000 0501",
    ),
    (
        "legal_aid",
        "40",
        "DEMO Trung tâm Trợ giúp pháp lý nhà nước tỉnh",
        "DEMO 0238 000 0601",
    ),
    (
        "social_assistance",
        "412",
        "DEMO Phòng Lao động – Thương binh và Xã hội thành phố Vinh",
        "DEMO 0238 000 0701",
    ),
    (
        "social_assistance",
        "421",
        "DEMO Phòng Lao động – Thương binh và Xã hội huyện Quỳnh Lưu",
        "DEMO 0238 000 0702",
    ),
    (
        "social_assistance",
        "425",
        "DEMO Phòng Lao động – Thương binh và Xã hội huyện Diễn Châu",
        "DEMO 0238 000 0703",
    ),
];

const SUPPORT_NOTES: [&str; 6] = [
    "DEMO: thăm tại nhà, chị ổn định, đang đi học nghề",
    "DEMO: gọi điện hỏi thăm, nhắc lịch khám",
    "DEMO: đi cùng chị đến trung tâm y tế",
    "DEMO: sinh hoạt nhóm đồng đẳng",
    "DEMO: trao quà hỗ trợ gạo và sữa",
    "DEMO: chị báo mất việc, cần cán bộ gặp lại",
];

const CLOSURES: [&str; 4] = ["reintegrated", "reintegrated", "moved_away", "withdrew"];

/// One district of the demo and the staff working there.
pub struct District {
    pub area: &'static str,
    pub clients: usize,
    pub places: &'static [&'static str],
    pub worker: Authz,
    pub supervisor: Option<Authz>,
    pub volunteer: Option<Authz>,
}

/// The staff the demo acts as.
pub struct Cast {
    pub admin: Authz,
    pub manager: Authz,
    pub districts: Vec<District>,
}

fn api<E: Into<ApiError>>(what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("demo data ({what}): {}", e.into().body(Lang::En))
}

/// `day` moved by `days` (negative: back).
fn plus(day: NaiveDate, days: i64) -> NaiveDate {
    day.checked_add_signed(chrono::Duration::days(days)).unwrap_or(day)
}

fn pii(text: impl Into<String>) -> Option<Pii> {
    Some(Pii::from(text.into()))
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

/// The states a referral passes through to reach `target`, after `referred`.
fn path(target: Status, rng: &mut StdRng) -> Vec<Status> {
    use Status::*;
    match target {
        Referred => vec![],
        Accepted => vec![Accepted],
        Declined => vec![Declined],
        Cancelled if rng.gen_bool(0.5) => vec![Cancelled],
        Cancelled => vec![Accepted, Cancelled],
        InService => vec![Accepted, InService],
        Completed => vec![Accepted, InService, Completed],
        DroppedOut if rng.gen_bool(0.4) => vec![Accepted, DroppedOut],
        DroppedOut => vec![Accepted, InService, DroppedOut],
    }
}

/// Days a move takes after the previous one.
fn gap(to: Status, rng: &mut StdRng) -> i64 {
    match to {
        Status::Accepted => rng.gen_range(2..=10),
        Status::Declined => rng.gen_range(3..=14),
        Status::Cancelled => rng.gen_range(5..=30),
        Status::InService => rng.gen_range(3..=21),
        Status::Completed => rng.gen_range(45..=160),
        Status::DroppedOut => rng.gen_range(15..=90),
        Status::Referred => 0,
    }
}

fn note(to: Status) -> &'static str {
    match to {
        Status::Accepted => "DEMO: nơi cung cấp đã nhận hồ sơ",
        Status::Declined => "DEMO: nơi cung cấp hết chỉ tiêu đợt này",
        Status::Cancelled => "DEMO: chị xin hoãn vì việc gia đình",
        Status::InService => "DEMO: đã bắt đầu tham gia",
        Status::Completed => "DEMO: đã hoàn thành, có giấy chứng nhận",
        Status::DroppedOut => "DEMO: chị bỏ giữa chừng, chuyển chỗ ở",
        Status::Referred => "",
    }
}

/// The state a referral made `age` days ago is meant to reach (it stops earlier when the
/// next move would be after today).
fn target(age: i64, rng: &mut StdRng) -> Status {
    use Status::*;
    let weighted: &[(Status, u32)] = if age < 21 {
        &[(Referred, 5), (Accepted, 3), (Declined, 1), (Cancelled, 1)]
    } else {
        &[
            (Completed, 42),
            (InService, 12),
            (DroppedOut, 12),
            (Declined, 8),
            (Cancelled, 7),
            (Accepted, 4),
            (Referred, 3),
        ]
    };
    weighted
        .choose_weighted(rng, |(_, w)| *w)
        .map(|(s, _)| *s)
        .unwrap_or(Referred)
}

/// What every story shares.
struct World {
    state: AppState,
    cast: Arc<Cast>,
    today: NaiveDate,
    providers: Vec<Provider>,
    categories: Vec<&'static str>,
}

/// One client's case: decided up front with the client's own RNG, so the data do not
/// depend on the order in which the cases are worked.
struct Case {
    number: usize,
    district: usize,
    opened: NaiveDate,
    rng: StdRng,
    /// Need categories at intake.
    wanted: Vec<&'static str>,
    /// Categories the client agreed to share with providers at intake.
    sharing: Vec<String>,
    id: String,
}

/// Fills the installation; answers the statistics release it published, if any.
pub async fn fill(state: &AppState, cast: Cast) -> Result<Option<Release>, String> {
    let mut categories = Vec::new();
    for (code, _) in NEEDS {
        if crate::categories::is_active(&state.db, code)
            .await
            .map_err(|e| e.to_string())?
        {
            categories.push(code);
        }
    }
    if categories.is_empty() {
        return Err("demo data: no service category is active".into());
    }
    let mut world = World {
        state: state.clone(),
        cast: Arc::new(cast),
        today: state.clock.today(),
        providers: Vec::new(),
        categories,
    };
    world.providers = providers_of(&world).await?;
    let world = Arc::new(world);

    // Intakes one after the other, oldest first, so the codes follow the dates.
    let mut cases = Vec::new();
    for (number, district, opened, minor) in plan(&world) {
        cases.push(intake(&world, number, district, opened, minor).await?);
    }
    // The rest of each case, several cases at a time on PostgreSQL (each step waits on
    // the database); one at a time on SQLite, which has one writer anyway.
    let streams = if state.db.engine == Engine::Postgres { 4 } else { 1 };
    let mut queues: Vec<Vec<Case>> = (0..streams).map(|_| Vec::new()).collect();
    for (i, case) in cases.into_iter().enumerate() {
        if let Some(queue) = queues.get_mut(i % streams) {
            queue.push(case);
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for queue in queues {
        let world = world.clone();
        tasks.spawn(async move {
            let mut open = Vec::new();
            for case in queue {
                if let Some(still_open) = story(&world, case).await? {
                    open.push(still_open);
                }
            }
            Ok::<_, String>(open)
        });
    }
    let mut open_clients = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        open_clients.extend(joined.map_err(|e| format!("demo data: {e}"))??);
    }
    open_clients.sort();
    every_state(&world, open_clients).await?;
    publish(state, &world.cast.manager).await
}

async fn providers_of(world: &World) -> Result<Vec<Provider>, String> {
    let mut out = Vec::new();
    for (category, area, name, contact) in PROVIDERS {
        if !world.categories.contains(&category) {
            continue;
        }
        let input = ProviderInput {
            name: name.into(),
            category: category.into(),
            area: area.into(),
            contact: Some(contact.into()),
        };
        out.push(
            providers::service::create(&world.state, &world.cast.admin, &input)
                .await
                .map_err(api("provider"))?,
        );
    }
    Ok(out)
}

/// A provider of `category` serving `area` (its own district first, then the province).
fn provider_for(world: &World, category: &str, area: &str) -> Option<String> {
    let of = |a: &str| {
        world
            .providers
            .iter()
            .find(|p| p.category == category && p.area == a)
            .map(|p| p.id.clone())
    };
    of(area).or_else(|| of(&world.state.settings.programme.province_area))
}

/// `(number, district, opened_on, minor)` of every client, oldest first.
fn plan(world: &World) -> Vec<(usize, usize, NaiveDate, bool)> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut districts: Vec<usize> = world
        .cast
        .districts
        .iter()
        .enumerate()
        .flat_map(|(i, d)| std::iter::repeat_n(i, d.clients))
        .collect();
    districts.shuffle(&mut rng);
    let total = i64::try_from(districts.len()).unwrap_or(1).max(1);
    // One recent intake in the first district is a child: the supervisors get a
    // child-protection alert.
    let minor = districts
        .iter()
        .enumerate()
        .rev()
        .skip(4)
        .find(|(_, d)| **d == 0)
        .map(|(n, _)| n);
    districts
        .into_iter()
        .enumerate()
        .map(|(n, district)| {
            let position = i64::try_from(n).unwrap_or(0);
            // Spread over the last two years.
            let back = (730 * (total - position)) / total - rng.gen_range(0..8);
            (n + 1, district, plus(world.today, -back.max(1)), minor == Some(n))
        })
        .collect()
}

/// Opens the case, as the district's worker (or, for some, its supervisor).
async fn intake(world: &World, number: usize, district: usize, opened: NaiveDate, minor: bool) -> Result<Case, String> {
    let Some(d) = world.cast.districts.get(district) else {
        return Err("demo data: no such district".into());
    };
    let mut rng = StdRng::seed_from_u64(SEED ^ (number as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let age_years = if minor { 16 } else { rng.gen_range(19..=42) };
    let born = plus(opened, -(age_years * 365 + rng.gen_range(10..350)));
    // The first need category cycles through every category; one or two more at random.
    let mut wanted: Vec<&'static str> = Vec::new();
    if let Some(first) = world.categories.get(number % world.categories.len()) {
        wanted.push(first);
    }
    let more = usize::from(rng.gen_bool(0.55)) + usize::from(rng.gen_bool(0.2));
    for _ in 0..more {
        let c = pick(&mut rng, &world.categories);
        if !wanted.contains(&c) {
            wanted.push(c);
        }
    }
    // Now and then the client does not agree to share one category with providers: a
    // supervisor refers on an override (where there is one), otherwise no referral.
    let mut sharing: Vec<String> = wanted.iter().map(|c| (*c).to_owned()).collect();
    if sharing.len() > 1 && rng.gen_bool(0.12) {
        sharing.pop();
    }
    let contact = rng.gen_bool(0.7);
    let input = IntakeInput {
        area: Some(d.area.into()),
        full_name: pii(format!("DEMO {} Thị {number:03}", pick(&mut rng, &FAMILY))),
        chosen_name: pii(format!("DEMO {}", pick(&mut rng, &GIVEN))),
        date_of_birth: Some(born.to_string()),
        id_number: if rng.gen_bool(0.6) {
            pii(format!("DEMO{:08}", 40_000 + number))
        } else {
            None
        },
        phone: if contact || rng.gen_bool(0.3) {
            pii(format!("0999{:06}", 1_000 + number))
        } else {
            None
        },
        address: if rng.gen_bool(0.5) {
            let street = rng.gen_range(1..=12);
            pii(format!("DEMO: tổ {street}, {}", pick(&mut rng, d.places)))
        } else {
            None
        },
        notes: pii("DEMO: hồ sơ giả lập để trình diễn, không phải người thật."),
        eligible: Some(number % 13 != 5),
        opened_on: Some(opened.to_string()),
        assigned_worker: None,
        consents: Some(IntakeConsents {
            data_processing: Some(true),
            reporting: Some(number % 10 != 3),
            volunteer_contact: Some(contact),
            referral_sharing: Some(sharing.clone()),
        }),
    };
    // Supervisors open some cases themselves and assign the district's worker.
    let (by, input) = match &d.supervisor {
        Some(sup) if number.is_multiple_of(5) => (
            sup,
            IntakeInput {
                assigned_worker: Some(d.worker.id().to_owned()),
                ..input
            },
        ),
        _ => (&d.worker, input),
    };
    let created = service::intake(&world.state, by, input).await.map_err(api("intake"))?;
    Ok(Case {
        number,
        district,
        opened,
        rng,
        wanted,
        sharing,
        id: created.client.id.clone(),
    })
}

/// The life of a case after intake: needs and referrals, further services every few
/// months, a volunteer's contacts, and for some a closure. Answers
/// `(district, client id, opened_on)` when the case stays open.
async fn story(world: &World, case: Case) -> Result<Option<(usize, String, NaiveDate)>, String> {
    let Case {
        number,
        district,
        opened,
        mut rng,
        mut wanted,
        sharing,
        id,
    } = case;
    let Some(d) = world.cast.districts.get(district) else {
        return Ok(None);
    };
    let today = world.today;
    let rng = &mut rng;
    let mut last = opened;

    // Needs assessed in the first days, and the referrals that answer them.
    let assessed = plus(opened, rng.gen_range(0..7)).min(today);
    for category in wanted.clone() {
        let need = need(world, rng, d, &id, category, assessed).await?;
        last = last.max(assessed);
        if rng.gen_bool(0.85) && assessed < today {
            let consented = sharing.iter().any(|c| c == category);
            let on = plus(assessed, rng.gen_range(1..14)).min(today);
            if let Some(end) = refer(world, rng, d, &id, category, &need, on, consented).await? {
                last = last.max(end);
            }
        }
    }

    // Later in the case, every few months: a further need (a job or a loan once training
    // is done, counselling again…), the sharing consent for it, and its referral. Long
    // cases thus have services in every period.
    let mut at = plus(opened, rng.gen_range(60..150));
    while at < plus(today, -3) {
        if rng.gen_bool(RECURRING) {
            let fresh: Vec<&'static str> = LATER_NEEDS
                .iter()
                .copied()
                .filter(|c| world.categories.contains(c) && !wanted.contains(c))
                .collect();
            let category = match fresh.choose(rng).copied() {
                Some(c) => c,
                None => pick(rng, &world.categories),
            };
            if !wanted.contains(&category) {
                wanted.push(category);
            }
            let consent = ConsentInput {
                scope: Some(consents::REFERRAL_SHARING.into()),
                category: Some(category.into()),
                given_on: Some(at.to_string()),
                expires_on: None,
            };
            consents::record(&world.state, &d.worker, &id, &consent)
                .await
                .map_err(api("consent"))?;
            let need = need(world, rng, d, &id, category, at).await?;
            last = last.max(at);
            let referred = plus(at, rng.gen_range(1..10)).min(today);
            if let Some(end) = refer(world, rng, d, &id, category, &need, referred, true).await? {
                last = last.max(end);
            }
        }
        at = plus(at, rng.gen_range(120..240));
    }

    // A volunteer of the Women's Union, assigned by the supervisor, and their contacts.
    if let (Some(sup), Some(vol)) = (&d.supervisor, &d.volunteer)
        && rng.gen_bool(0.6)
    {
        let assign = AssignInput {
            user_id: Some(vol.id().to_owned()),
        };
        volunteers::assign(&world.state, sup, &id, &assign)
            .await
            .map_err(api("volunteer"))?;
        let span = (today - opened).num_days().max(1);
        let mut days: Vec<i64> = (0..rng.gen_range(1..=5)).map(|_| rng.gen_range(0..=span)).collect();
        days.sort_unstable();
        for day in days {
            let on = plus(opened, day).min(today);
            let follow_up = rng.gen_bool(0.15);
            let input = SupportLogInput {
                kind: Some(pick(rng, &volunteers::SUPPORT_KINDS).into()),
                on: Some(on.to_string()),
                duration_minutes: Some(rng.gen_range(1..=8) * 15),
                note: if follow_up || rng.gen_bool(0.6) {
                    pii(pick(rng, &SUPPORT_NOTES))
                } else {
                    None
                },
                needs_follow_up: Some(follow_up),
            };
            let log = volunteers::log_support(&world.state, vol, &id, &input)
                .await
                .map_err(api("support log"))?;
            last = last.max(on);
            // The worker has dealt with most of the older follow-ups.
            if follow_up && (today - on).num_days() > 30 && rng.gen_bool(0.6) {
                volunteers::follow_up_done(&world.state, &d.worker, &log.id)
                    .await
                    .map_err(api("follow-up"))?;
            }
        }
    }

    // Some long cases end: the supervisor closes them; the Vinh worker's closures wait
    // for the supervisor's review.
    if let Some(sup) = &d.supervisor
        && (today - opened).num_days() > 380
        && rng.gen_bool(0.3)
    {
        let on = plus(last, rng.gen_range(10..60)).min(today);
        let by = if district == 0 && number.is_multiple_of(2) {
            &d.worker
        } else {
            sup
        };
        let input = CloseInput {
            reason: Some(pick(rng, &CLOSURES).into()),
            on: Some(on.to_string()),
            version: None,
        };
        service::close(&world.state, by, &id, &input)
            .await
            .map_err(api("close"))?;
        return Ok(None);
    }
    Ok(((today - opened).num_days() > 20).then_some((district, id, opened)))
}

async fn need(
    world: &World,
    rng: &mut StdRng,
    d: &District,
    client_id: &str,
    category: &str,
    on: NaiveDate,
) -> Result<String, String> {
    let details = NEEDS
        .iter()
        .find(|(c, _)| *c == category)
        .map(|(_, d)| *d)
        .unwrap_or_default();
    let detail = if category == "health_care" || rng.gen_bool(0.6) {
        details.choose(rng).map(|t| Pii::from(*t))
    } else {
        None
    };
    let input = NeedInput {
        category: Some(category.into()),
        detail,
        assessed_on: Some(on.to_string()),
    };
    let need = needs::record(&world.state, &d.worker, client_id, &input)
        .await
        .map_err(api("need"))?;
    Ok(need.id)
}

/// Refers the client and walks the referral towards a state that suits its age. Answers
/// the date of its last move, or `None` when no referral could be made.
#[allow(clippy::too_many_arguments)]
async fn refer(
    world: &World,
    rng: &mut StdRng,
    d: &District,
    client_id: &str,
    category: &str,
    need_id: &str,
    on: NaiveDate,
    consented: bool,
) -> Result<Option<NaiveDate>, String> {
    let (by, override_reason) = match (&d.supervisor, consented) {
        (_, true) => (&d.worker, None),
        (Some(sup), false) => (sup, pii("DEMO: chị đồng ý bằng lời, giấy đồng ý sẽ ký ở buổi gặp sau")),
        (None, false) => return Ok(None),
    };
    let health = category == "health_care";
    let input = NewReferral {
        category: category.into(),
        need_id: Some(need_id.into()),
        provider_id: provider_for(world, category, d.area),
        detail: if health {
            pii("DEMO: chuyển gửi khám và tư vấn")
        } else {
            None
        },
        share_detail: Some(consented && !health && rng.gen_bool(0.3)),
        on: Some(on.to_string()),
        override_reason,
    };
    let referral = referrals::create(&world.state, by, client_id, &input)
        .await
        .map_err(api("referral"))?;
    let aim = target((world.today - on).num_days(), rng);
    let steps = path(aim, rng);
    walk(world, rng, &d.worker, &referral.id, on, &steps).await.map(Some)
}

/// Moves a referral through `steps`, each a few days after the previous, stopping before
/// a move that would be after today. Answers the date of the last move.
async fn walk(
    world: &World,
    rng: &mut StdRng,
    by: &Authz,
    referral_id: &str,
    from: NaiveDate,
    steps: &[Status],
) -> Result<NaiveDate, String> {
    let mut at = from;
    for to in steps {
        let next = plus(at, gap(*to, rng));
        if next > world.today {
            break;
        }
        let input = TransitionInput {
            to: to.as_str().into(),
            on: Some(next.to_string()),
            note: if rng.gen_bool(0.5) { pii(note(*to)) } else { None },
        };
        referrals::transition(&world.state, by, referral_id, &input)
            .await
            .map_err(api("referral move"))?;
        at = next;
    }
    Ok(at)
}

/// Makes sure a referral stands in every state, whatever today's date cut short: a
/// short, recent referral for each missing one.
async fn every_state(world: &World, mut open_clients: Vec<(usize, String, NaiveDate)>) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let category = "counselling";
    if !world.categories.contains(&category) {
        return Ok(());
    }
    for status in Status::ALL {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM referrals WHERE status = $1")
            .bind(status.as_str())
            .fetch_one(&world.state.db.pool)
            .await
            .map_err(|e| e.to_string())?;
        if n > 0 {
            continue;
        }
        let Some((district, client_id, opened)) = open_clients.pop() else {
            break;
        };
        let Some(d) = world.cast.districts.get(district) else {
            continue;
        };
        let start = plus(world.today, -6).max(opened);
        let consent = ConsentInput {
            scope: Some(consents::REFERRAL_SHARING.into()),
            category: Some(category.into()),
            given_on: Some(start.to_string()),
            expires_on: None,
        };
        consents::record(&world.state, &d.worker, &client_id, &consent)
            .await
            .map_err(api("consent"))?;
        let need_id = need(world, &mut rng, d, &client_id, category, start).await?;
        let input = NewReferral {
            category: category.into(),
            need_id: Some(need_id),
            provider_id: provider_for(world, category, d.area),
            on: Some(start.to_string()),
            ..NewReferral::default()
        };
        let referral = referrals::create(&world.state, &d.worker, &client_id, &input)
            .await
            .map_err(api("referral"))?;
        let mut at = start;
        for to in path(status, &mut rng) {
            at = plus(at, 1).min(world.today);
            let input = TransitionInput {
                to: to.as_str().into(),
                on: Some(at.to_string()),
                note: None,
            };
            referrals::transition(&world.state, &d.worker, &referral.id, &input)
                .await
                .map_err(api("referral move"))?;
        }
    }
    Ok(())
}

/// The last half-year that has ended.
pub fn last_half_year(today: NaiveDate) -> Option<Period> {
    let (year, half) = if today.month() <= 6 {
        (today.year() - 1, 2)
    } else {
        (today.year(), 1)
    };
    Period::half_year(year, half).ok()
}

/// Publishes the release of the last ended half-year as the province manager, through
/// the same function as `POST /api/v1/stats/releases`.
async fn publish(state: &AppState, manager: &Authz) -> Result<Option<Release>, String> {
    let today = state.clock.today();
    let Some(period) = last_half_year(today).filter(|p| p.has_ended(today)) else {
        return Ok(None);
    };
    let label = serde_json::Value::String(period.label.clone());
    let (published, _) = crate::stats::service::publish(state, manager, &label, None)
        .await
        .map_err(api("publish"))?;
    Ok(Some(published))
}
