//! `hoanhap demo`: a working installation filled with synthetic data, so that a newcomer
//! sees a living system in one command.
//!
//! It refuses a database that already has accounts or clients, so synthetic and real
//! records never mix. It creates one account per role (passwords random, printed once on
//! standard output, never logged), then does a couple of years of case work through the
//! same authorised and audited functions the API uses, acting as those accounts
//! ([`data`]), publishes the last half-year's statistics as the province manager, prints
//! what each role can try first, and serves (unless `--no-serve`).

mod data;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use tower_sessions::{MemoryStore, Session};

use crate::AppState;
use crate::audit::actions;
use crate::audit::{Event, Outcome};
use crate::auth::accounts::{self, NewAccount};
use crate::authz::Authz;
use crate::config::Settings;
use crate::db::Db;
use crate::policy::Role;
use crate::stats::release::Release;

pub use data::last_half_year;

/// The actor of the audit entries for the accounts created here, as for `hoanhap user add`.
const CLI_ACTOR: &str = "cli";

/// One demo account.
struct Spec {
    username: &'static str,
    role: Role,
    area: &'static str,
    display_name: &'static str,
    /// What to try first, for the printed guide.
    first: &'static str,
}

const ACCOUNTS: [Spec; 11] = [
    Spec {
        username: "demo.admin",
        role: Role::Admin,
        area: "40",
        display_name: "DEMO Quản trị hệ thống",
        first: "\"Tài khoản\": staff accounts (add one, reset a second factor); \"Nơi cung cấp dịch vụ\": the providers",
    },
    Spec {
        username: "demo.sup.vinh",
        role: Role::Supervisor,
        area: "412",
        display_name: "DEMO Giám sát Vinh",
        first: "the home page: a child-protection alert and closures to review; the district's cases; assign a volunteer",
    },
    Spec {
        username: "demo.sw.vinh",
        role: Role::SocialWorker,
        area: "412",
        display_name: "DEMO Cán bộ xã hội Vinh",
        first: "the home page: your caseload, follow-ups from volunteers, stalled referrals; open a case, add a need, refer, move a referral on",
    },
    Spec {
        username: "demo.sup.quynhluu",
        role: Role::Supervisor,
        area: "421",
        display_name: "DEMO Giám sát Quỳnh Lưu",
        first: "the same as the Vinh supervisor, for Quỳnh Lưu",
    },
    Spec {
        username: "demo.sw.quynhluu",
        role: Role::SocialWorker,
        area: "421",
        display_name: "DEMO Cán bộ xã hội Quỳnh Lưu",
        first: "the Quỳnh Lưu caseload; try opening a Vinh client: break-glass, with a reason",
    },
    Spec {
        username: "demo.sw.dienchau",
        role: Role::SocialWorker,
        area: "425",
        display_name: "DEMO Cán bộ xã hội Diễn Châu",
        first: "the Diễn Châu caseload (a district with no supervisor or volunteer account)",
    },
    Spec {
        username: "demo.vol.vinh",
        role: Role::Volunteer,
        area: "412",
        display_name: "DEMO Tình nguyện viên Vinh",
        first: "\"Người tôi hỗ trợ\": assigned clients, code and chosen name only; log a home visit, flag a follow-up",
    },
    Spec {
        username: "demo.vol.quynhluu",
        role: Role::Volunteer,
        area: "421",
        display_name: "DEMO Tình nguyện viên Quỳnh Lưu",
        first: "the same as the Vinh volunteer, in Quỳnh Lưu",
    },
    Spec {
        username: "demo.manager",
        role: Role::Manager,
        area: "40",
        display_name: "DEMO Quản lý chương trình tỉnh",
        first: "\"Thống kê\": the published half-year against the 60 % target, CSV and XLSX, live progress; publish a period",
    },
    Spec {
        username: "demo.manager.vinh",
        role: Role::Manager,
        area: "412",
        display_name: "DEMO Quản lý chương trình Vinh",
        first: "\"Thống kê\": the same release, with Thành phố Vinh's row only",
    },
    Spec {
        username: "demo.auditor",
        role: Role::Auditor,
        area: "40",
        display_name: "DEMO Cán bộ bảo vệ dữ liệu",
        first: "\"Nhật ký truy cập\": who touched which client code, and when; check the chain",
    },
];

/// `(area, clients, places for addresses, worker, supervisor, volunteer)`.
type DistrictSpec = (
    &'static str,
    usize,
    &'static [&'static str],
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

const DISTRICTS: [DistrictSpec; 3] = [
    (
        "412",
        36,
        &["phường Hưng Bình", "phường Lê Lợi", "phường Trung Đô", "xã Nghi Phú"],
        "demo.sw.vinh",
        Some("demo.sup.vinh"),
        Some("demo.vol.vinh"),
    ),
    (
        "421",
        28,
        &["xã Quỳnh Lương", "xã Quỳnh Bảng", "thị trấn Cầu Giát"],
        "demo.sw.quynhluu",
        Some("demo.sup.quynhluu"),
        Some("demo.vol.quynhluu"),
    ),
    (
        "425",
        26,
        &["thị trấn Diễn Châu", "xã Diễn Hải", "xã Diễn Thành"],
        "demo.sw.dienchau",
        None,
        None,
    ),
];

/// A random password of 20 letters and digits in groups of five (about 100 bits), from
/// the operating system's generator.
fn new_password() -> SecretString {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let mut text = String::with_capacity(23);
    for i in 0..20 {
        if i > 0 && i % 5 == 0 {
            text.push('-');
        }
        let byte = ALPHABET.get(rng.gen_range(0..ALPHABET.len())).copied().unwrap_or(b'a');
        text.push(char::from(byte));
    }
    SecretString::from(text)
}

/// Refuses, before any key or row is written, a database that has accounts or clients.
async fn refuse_unless_empty(settings: &Settings) -> Result<(), String> {
    let url = settings.database_url().map_err(|e| e.to_string())?;
    let db = Db::connect(&url).await.map_err(|e| e.to_string())?;
    let count = |table: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&db.pool)
                .await
                .map_err(|e| e.to_string())
        }
    };
    let users = count("users").await?;
    let clients = count("clients").await?;
    let erased = count("erasures").await?;
    db.pool.close().await;
    if users + clients + erased == 0 {
        return Ok(());
    }
    let place = if settings.database_url.is_some() || settings.database_url_file.is_some() {
        "the configured database".to_owned()
    } else {
        format!("the database in {}", settings.data_dir.display())
    };
    Err(format!(
        "{place} already has {users} account(s) and {clients} client(s); `hoanhap demo` fills only an empty \
         installation, so that synthetic and real records never mix. Run it with another data folder, \
         e.g. `HOANHAP_DATA_DIR=./demo-data hoanhap demo`"
    ))
}

/// A logged-in user for `account_id`, with a session of its own (kept in memory).
async fn act_as(state: &AppState, account_id: &str) -> Result<Authz, String> {
    let account = accounts::by_id(&state.db, account_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the demo account {account_id} has disappeared"))?;
    let session = Session::new(None, Arc::new(MemoryStore::default()), None);
    Ok(Authz::new(state, crate::auth::AuthUser { account, session }))
}

struct Created {
    spec: &'static Spec,
    password: SecretString,
    user: Authz,
}

async fn create_accounts(state: &AppState) -> Result<Vec<Created>, String> {
    let mut out = Vec::with_capacity(ACCOUNTS.len());
    for spec in &ACCOUNTS {
        let password = new_password();
        let account = accounts::create(
            &state.db,
            NewAccount {
                username: spec.username.into(),
                display_name: spec.display_name.into(),
                role: spec.role,
                area: spec.area.into(),
                password: password.clone(),
            },
            state.clock.now(),
        )
        .await
        .map_err(|e| format!("cannot create {}: {e}", spec.username))?;
        state
            .audit_log
            .append(
                Event::new(CLI_ACTOR, actions::USER_CREATE, Outcome::Success)
                    .object(&account.id)
                    .reason("demo"),
                state.clock.now(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let user = act_as(state, &account.id).await?;
        out.push(Created { spec, password, user });
    }
    Ok(out)
}

fn cast(created: &[Created]) -> Result<data::Cast, String> {
    let user = |name: &str| {
        created
            .iter()
            .find(|c| c.spec.username == name)
            .map(|c| c.user.clone())
            .ok_or_else(|| format!("no demo account {name}"))
    };
    let mut districts = Vec::new();
    for (area, clients, places, worker, supervisor, volunteer) in DISTRICTS {
        districts.push(data::District {
            area,
            clients,
            places,
            worker: user(worker)?,
            supervisor: supervisor.map(user).transpose()?,
            volunteer: volunteer.map(user).transpose()?,
        });
    }
    Ok(data::Cast {
        admin: user("demo.admin")?,
        manager: user("demo.manager")?,
        districts,
    })
}

/// `hoanhap demo [--no-serve]`.
pub async fn command(mut settings: Settings, no_serve: bool) -> Result<ExitCode, String> {
    refuse_unless_empty(&settings).await?;
    // The synthetic case work is filed under the 2024 districts, as an installation that
    // began before the reform would hold it.
    settings.programme.area_seed = crate::config::AreaSeed::NgheAn2024;
    crate::ensure_keys(&settings).map_err(|e| e.to_string())?;
    let state = crate::open(settings).await.map_err(|e| e.to_string())?;
    {
        let clients: usize = DISTRICTS.iter().map(|d| d.1).sum();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "Filling a new installation with synthetic data ({clients} clients); this takes a moment…"
        );
        let _ = out.flush();
    }
    let created = create_accounts(&state).await?;
    let release = data::fill(&state, cast(&created)?).await?;
    let text = report(&state, &created, release.as_ref()).await?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    drop(out);
    if no_serve {
        println!(
            "\nStart it with `hoanhap serve` (same settings) and open {}",
            url(state.settings.listen)
        );
        return Ok(ExitCode::SUCCESS);
    }
    serve(state).await?;
    Ok(ExitCode::SUCCESS)
}

fn url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}/", addr.port())
    } else {
        format!("http://{addr}/")
    }
}

async fn serve(state: AppState) -> Result<(), String> {
    let listen = state.settings.listen;
    crate::retention::spawn_daily(state.clone()).map_err(|e| e.to_string())?;
    crate::auth::session_store::spawn_purge(state.db.clone());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().unwrap_or(listen);
    println!(
        "\nhoanhap is serving: open {} (Ctrl-C stops it; `hoanhap serve` starts it again)",
        url(addr)
    );
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, "hoanhap demo is serving");
    crate::serve(listener, state, crate::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn count(state: &AppState, sql: &str) -> Result<i64, String> {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&state.db.pool)
        .await
        .map_err(|e| e.to_string())
}

/// The printed text: accounts and passwords, what was made, second factor, first steps.
async fn report(state: &AppState, created: &[Created], release: Option<&Release>) -> Result<String, String> {
    let catalog = state.areas.current();
    let areas = catalog.all();
    let area_name = |code: &str| {
        areas
            .iter()
            .find(|a| a.code == code)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\nhoanhap demo: a working installation with synthetic data. Every client name contains DEMO;\n\
         none of it is about a real person.\n\n\
         Accounts (the passwords are shown only this once: note them now):\n"
    );
    let _ = writeln!(t, "  {:<20} {:<25} {:<14} area", "username", "password", "role");
    for c in created {
        let _ = writeln!(
            t,
            "  {:<20} {:<25} {:<14} {} {}",
            c.spec.username,
            c.password.expose_secret(),
            c.spec.role.as_str(),
            c.spec.area,
            area_name(c.spec.area)
        );
    }

    let mut by_area = Vec::new();
    for (area, ..) in DISTRICTS {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE area = $1")
            .bind(area)
            .fetch_one(&state.db.pool)
            .await
            .map_err(|e| e.to_string())?;
        by_area.push(format!("{} {n}", area_name(area)));
    }
    let mut by_status = Vec::new();
    for status in crate::referrals::Status::ALL {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM referrals WHERE status = $1")
            .bind(status.as_str())
            .fetch_one(&state.db.pool)
            .await
            .map_err(|e| e.to_string())?;
        by_status.push(format!("{} {n}", status.as_str()));
    }
    let clients = count(state, "SELECT COUNT(*) FROM clients").await?;
    let closed = count(state, "SELECT COUNT(*) FROM clients WHERE status = 'closed'").await?;
    let needs = count(state, "SELECT COUNT(*) FROM needs").await?;
    let referrals = count(state, "SELECT COUNT(*) FROM referrals").await?;
    let logs = count(state, "SELECT COUNT(*) FROM support_logs").await?;
    let open_follow_ups: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM support_logs WHERE needs_follow_up = $1 AND follow_up_done = $2")
            .bind(true)
            .bind(false)
            .fetch_one(&state.db.pool)
            .await
            .map_err(|e| e.to_string())?;
    let providers = count(state, "SELECT COUNT(*) FROM providers").await?;
    let alerts = count(state, "SELECT COUNT(*) FROM case_alerts WHERE acknowledged_at IS NULL").await?;
    let _ = writeln!(
        t,
        "\nSynthetic data, dated over the last two years:\n  \
         {clients} clients ({}), {closed} of them closed; {needs} needs in every service category\n  \
         {referrals} referrals: {}\n  \
         {logs} volunteer support contacts, {open_follow_ups} follow-ups still open; {providers} service providers\n  \
         {alerts} alerts for the supervisors (a child-protection alert among them)",
        by_area.join(", "),
        by_status.join(", ")
    );
    match release {
        Some(r) => {
            let rate = r
                .indicator
                .rate
                .map_or_else(|| "rate not shown".to_owned(), |x| format!("{:.1} %", x * 100.0));
            let _ = writeln!(
                t,
                "  statistics release {} published by demo.manager: {} of {} clients with needs reached a \
                 service ({rate}; target {:.0} %)",
                r.period,
                r.indicator.reached.text(),
                r.indicator.cohort.text(),
                r.indicator.target * 100.0
            );
        }
        None => {
            let _ = writeln!(t, "  no statistics release was published");
        }
    }

    let mfa = &state.settings.auth.mfa_required_roles;
    if mfa.is_empty() {
        let _ = writeln!(
            t,
            "\nTwo-step verification: auth.mfa_required_roles is empty in this run, so nobody is asked for it.\n\
             Later runs without that setting ask for it again (the default is unchanged)."
        );
    } else {
        let _ = writeln!(
            t,
            "\nTwo-step verification: these roles must use it ({}). At their first login they are asked to\n\
             set it up: scan the QR code with any authenticator app (Aegis, FreeOTP, Google or Microsoft\n\
             Authenticator, 2FAS…) and type the 6-digit code. For a quick look without it, start the\n\
             installation with the setting emptied for that run only (the defaults stay as they are):\n\n    \
             HOANHAP_AUTH__MFA_REQUIRED_ROLES='[]' hoanhap demo      (on a fresh data folder)\n    \
             HOANHAP_AUTH__MFA_REQUIRED_ROLES='[]' hoanhap serve     (on this one, later)",
            mfa.join(", ")
        );
    }

    let _ = writeln!(t, "\nWhat each role can try first (the pages are in Vietnamese):");
    for c in created {
        let _ = writeln!(t, "  {:<20} {}", c.spec.username, c.spec.first);
    }
    Ok(t)
}
