//! The authorisation matrix (issue 3): every API operation × anonymous and each role, in
//! its own scope and in another one → the expected answer, from ONE table ([`api_table`]).
//!
//! * A row per operation of the OpenAPI document (method and path template exactly as
//!   documented), with a request body valid enough that an allowed principal gets a 2xx.
//!   [`every_documented_operation_has_exactly_one_row`] fails when a documented operation
//!   has no row, or a row names an operation that no longer exists.
//! * Columns: see [`COLUMNS`]. The client under test lives in district 412 (Vinh), is on
//!   `lan.sw`'s caseload and has `thu.vol` assigned; a second client lives in 421 (Quỳnh
//!   Lưu) on `hoa.sw`'s caseload. "Own" and "other" scope are different accounts looking
//!   at the same client, so list routes are checked from both sides too.
//! * Rows whose request changes what later rows see (erase, close, reassign, transitions,
//!   break-glass, withdrawals…) get a fresh client, with all its objects, for every
//!   principal; rows that end or replace a session log in afresh.
//! * Every answer is also searched: admin, managers and the auditor never get a stored
//!   name, ID number, phone or other sealed text (nor, but for the auditor, a client
//!   code); principals outside the client's scope never get its content; a volunteer never
//!   gets identity data.
//! * The pages that show client data have a second, smaller table ([`page_table`]), whose
//!   completeness is checked against the page routes found in `src/` (every other page
//!   route must be listed, with its reason, in [`PAGES_OUTSIDE_THE_MATRIX`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use crate::kit::{PASSWORD, TestEnv, TestServer, add_user};
use hoanhap::policy::Role;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Outcomes and principals
// ---------------------------------------------------------------------------------------

/// What a principal gets from one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// 2xx (pages: also a redirect that is not to the login form).
    Allowed,
    /// 401.
    Unauthenticated,
    /// 403.
    Forbidden,
    /// 404: the caller may not even know the object exists.
    Hidden,
    /// Pages: 303 to `/login`.
    ToLogin,
    /// Any other status, when a row needs it.
    Status(u16),
}

const A: Outcome = Outcome::Allowed;
const U: Outcome = Outcome::Unauthenticated;
const F: Outcome = Outcome::Forbidden;
const H: Outcome = Outcome::Hidden;
const L: Outcome = Outcome::ToLogin;
/// Pages: 422, the answer for a code that does not exist (or may not be revealed).
const N: Outcome = Outcome::Status(422);

fn classify(status: u16, location: Option<&str>) -> Outcome {
    match status {
        200..=299 => Outcome::Allowed,
        300..=399 if location.is_some_and(|l| l.starts_with("/login")) => Outcome::ToLogin,
        300..=399 => Outcome::Allowed,
        401 => Outcome::Unauthenticated,
        403 => Outcome::Forbidden,
        404 => Outcome::Hidden,
        s => Outcome::Status(s),
    }
}

/// The columns of the tables, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Who {
    Anonymous,
    /// Admin, province scope.
    Admin,
    /// Supervisor of 412, the client's district.
    SupervisorOwn,
    /// Supervisor of 421.
    SupervisorOther,
    /// Social worker of 412 to whom the client is assigned.
    WorkerOwn,
    /// Social worker of 412, client not assigned to her.
    WorkerSameDistrict,
    /// Social worker of 421.
    WorkerOther,
    /// Volunteer of 412 assigned to the client.
    VolunteerAssigned,
    /// Volunteer of 412 not assigned to the client.
    VolunteerUnassigned,
    /// Manager, province scope (40).
    ManagerProvince,
    /// Manager, district scope (412).
    ManagerDistrict,
    /// Auditor, province scope.
    Auditor,
}

const COLUMNS: [Who; 12] = [
    Who::Anonymous,
    Who::Admin,
    Who::SupervisorOwn,
    Who::SupervisorOther,
    Who::WorkerOwn,
    Who::WorkerSameDistrict,
    Who::WorkerOther,
    Who::VolunteerAssigned,
    Who::VolunteerUnassigned,
    Who::ManagerProvince,
    Who::ManagerDistrict,
    Who::Auditor,
];

impl Who {
    /// Username, role and area of the account, `None` for anonymous.
    fn account(self) -> Option<(&'static str, Role, &'static str)> {
        Some(match self {
            Who::Anonymous => return None,
            Who::Admin => ("root.admin", Role::Admin, "40"),
            Who::SupervisorOwn => ("mai.sup", Role::Supervisor, "412"),
            Who::SupervisorOther => ("tam.sup", Role::Supervisor, "421"),
            Who::WorkerOwn => ("lan.sw", Role::SocialWorker, "412"),
            Who::WorkerSameDistrict => ("hue.sw", Role::SocialWorker, "412"),
            Who::WorkerOther => ("hoa.sw", Role::SocialWorker, "421"),
            Who::VolunteerAssigned => ("thu.vol", Role::Volunteer, "412"),
            Who::VolunteerUnassigned => ("cuc.vol", Role::Volunteer, "412"),
            Who::ManagerProvince => ("minh.mgr", Role::Manager, "40"),
            Who::ManagerDistrict => ("son.mgr", Role::Manager, "412"),
            Who::Auditor => ("an.audit", Role::Auditor, "40"),
        })
    }
}

/// A spare social worker of 412: the account-management rows act on it (disable, enable,
/// resets), anonymous logs in with its credentials, and cases are reassigned to it.
const SPARE: &str = "spare.sw";

// ---------------------------------------------------------------------------------------
// Client data the answers are searched for
// ---------------------------------------------------------------------------------------

/// What is sealed for one client, and the free text of its need, referral and support log.
struct Pii {
    full_name: &'static str,
    chosen_name: &'static str,
    date_of_birth: &'static str,
    id_number: &'static str,
    phone: &'static str,
    address: &'static str,
    notes: &'static str,
}

/// The client of district 412 (the shared one and every fresh one).
const TARGET: Pii = Pii {
    full_name: "Phạm Thị Xuân Quỳnh",
    chosen_name: "Sáo Sậu",
    date_of_birth: "1994-07-15",
    id_number: "038194001234",
    phone: "0912345678",
    address: "Ngõ 7 đường Lê Lợi, phường Hưng Bình",
    notes: "Ghi chú kín: hoàn cảnh gia đình khó khăn",
};
const NEED_DETAIL: &str = "Cần vốn để mở quán nước ven chợ";
const REFERRAL_DETAIL: &str = "Giới thiệu kín: vay vốn nhóm tiết kiệm";
const SUPPORT_NOTE: &str = "Đã thăm nhà, chị ổn, cần hỏi thêm về vốn";

/// The client of district 421.
const OTHER: Pii = Pii {
    full_name: "Lê Thị Thanh Hương",
    chosen_name: "Chim Khuyên",
    date_of_birth: "1990-02-03",
    id_number: "040190009876",
    phone: "0987654321",
    address: "Xóm 5 xã Quỳnh Thạch",
    notes: "Ghi chú kín ở Quỳnh Lưu",
};

/// The clients opened by the intake rows (API and page).
const NEW: Pii = Pii {
    full_name: "Võ Thị Ngọc Ánh",
    chosen_name: "Hoạ Mi",
    date_of_birth: "1999-11-20",
    id_number: "038199007777",
    phone: "0934567890",
    address: "Khối 3 phường Bến Thuỷ",
    notes: "Ghi chú kín khi tiếp nhận",
};

impl Pii {
    /// The strings no unauthorised answer may contain. The phone is searched by its last
    /// nine digits, so `+84…` forms are caught too.
    fn secrets(&self) -> Vec<&'static str> {
        vec![
            self.full_name,
            self.chosen_name,
            self.date_of_birth,
            self.id_number,
            &self.phone[1..],
            self.address,
            self.notes,
        ]
    }

    /// What a volunteer may never see, even of an assigned client.
    fn identity(&self) -> Vec<&'static str> {
        vec![
            self.full_name,
            self.date_of_birth,
            self.id_number,
            self.address,
            self.notes,
        ]
    }

    fn intake(&self, area: &str, opened_on: &str) -> Value {
        json!({
            "area": area,
            "full_name": self.full_name,
            "chosen_name": self.chosen_name,
            "date_of_birth": self.date_of_birth,
            "id_number": self.id_number,
            "phone": self.phone,
            "address": self.address,
            "notes": self.notes,
            "eligible": true,
            "opened_on": opened_on,
            "consents": {
                "data_processing": true,
                "reporting": true,
                "volunteer_contact": true,
                "referral_sharing": ["loan", "health_care"],
            },
        })
    }
}

/// Whether `body` holds something shaped like a client code (`NA-2024-00137`).
fn has_client_code(body: &str, prefix: &str) -> bool {
    let bytes = body.as_bytes();
    let pat = format!("{prefix}-");
    body.match_indices(&pat).any(|(at, _)| {
        let rest = &bytes[at + pat.len()..];
        rest.len() >= 10
            && rest[..4].iter().all(u8::is_ascii_digit)
            && rest[4] == b'-'
            && rest[5..10].iter().all(u8::is_ascii_digit)
    })
}

// ---------------------------------------------------------------------------------------
// The API table
// ---------------------------------------------------------------------------------------

/// Which objects a row acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum On {
    /// The shared fixtures: nothing the row does can change what later rows see.
    Shared,
    /// A fresh client of 412 on `lan.sw`'s caseload with `thu.vol` assigned (and the
    /// consents given at intake) for every principal, with what the row acts on.
    Fresh(With),
    /// The shared fixtures, through a new login of the principal (the row ends or
    /// replaces the session).
    NewLogin,
    /// A new account of the principal's role and area, logged in, that has started
    /// enrolling a second factor (`{totp}` is its current code).
    Twin,
}

/// What a fresh client comes with, besides its consents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum With {
    /// Nothing more.
    Client,
    /// Its case closed by the supervisor.
    Closed,
    /// Its case closed by the assigned worker, which raises a `closure_review` alert
    /// asking the district's supervisors to review the closure.
    ClosureReview,
    /// A need and a referral.
    Referral,
    /// A support log `thu.vol` flagged for follow-up.
    FollowUp,
    /// A transfer to 421 asked by `lan.sw`, waiting for 421's supervisor.
    Transfer,
}

/// What a client is made with ([`World::case`]).
#[derive(Clone, Copy, Default)]
struct Parts {
    volunteer: bool,
    referral: bool,
    follow_up: bool,
    closed: bool,
    closure_review: bool,
    transfer: bool,
}

impl Parts {
    /// The shared client: everything the shared rows act on.
    const SHARED: Parts = Parts {
        volunteer: true,
        referral: true,
        follow_up: true,
        closed: false,
        closure_review: false,
        transfer: false,
    };

    fn fresh(with: With) -> Parts {
        // The assigned volunteer's column means what it says on every fresh client too.
        let base = Parts {
            volunteer: true,
            ..Parts::default()
        };
        match with {
            With::Client => base,
            With::Closed => Parts { closed: true, ..base },
            With::ClosureReview => Parts {
                closure_review: true,
                ..base
            },
            With::Referral => Parts { referral: true, ..base },
            With::FollowUp => Parts {
                follow_up: true,
                ..base
            },
            With::Transfer => Parts { transfer: true, ..base },
        }
    }
}

struct Row {
    /// `METHOD /path/{template}` exactly as in the OpenAPI document (pages: as routed).
    op: &'static str,
    on: On,
    /// JSON body (API) with `"{placeholder}"` strings; see [`Ctx::value`].
    body: Option<Value>,
    /// Form body (pages).
    form: Option<&'static [(&'static str, &'static str)]>,
    /// One outcome per [`COLUMNS`] entry.
    expect: [Outcome; 12],
}

fn api(op: &'static str, on: On, body: Option<Value>, expect: [Outcome; 12]) -> Row {
    Row {
        op,
        on,
        body,
        form: None,
        expect,
    }
}

const BREAK_GLASS_REASON: &str = "Client called the hotline at night; her worker is on leave.";

/// A checkpoint in the right form, signed under some other master key.
fn foreign_checkpoint() -> Value {
    json!({
        "format": "hoanhap-audit-checkpoint/1", "seq": 1, "mac": "00".repeat(32),
        "at": "2024-07-01T00:00:00Z", "key_id": "0000000000000000", "signature": "00".repeat(32),
    })
}

const ERASE_REASON: &str = "The client asked for her data to be erased.";
const TRANSFER_REASON: &str = "Chị chuyển về Quỳnh Lưu sống cùng mẹ";

/// Every API operation. Columns, in the order of [`COLUMNS`]: `an` anonymous, `ad` admin,
/// `S+` / `S-` supervisor of the client's district / of another, `W+` / `W=` / `W-` social
/// worker the client is assigned to / of the same district / of another, `V+` / `V-`
/// volunteer assigned / not assigned, `MP` / `MD` manager of the province / of the
/// district, `au` auditor.
///
/// Client routes follow one pattern: allowed to those who work on the client; 403 to
/// those who may see its code in lists (a social worker of the district, an assigned
/// volunteer, for what she may not do); 404 to everyone else, so existence is not
/// revealed.
#[rustfmt::skip]
fn api_table() -> Vec<Row> {
    use With::*;
    use On::*;
    vec![
        // ---- session and own account ----------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("POST /api/v1/session", NewLogin, Some(json!({ "username": "{username}", "password": PASSWORD })),
            [A, A, A, A, A, A, A, A, A, A, A, A]),
        api("DELETE /api/v1/session", NewLogin, None,
            [U, A, A, A, A, A, A, A, A, A, A, A]),
        api("GET /api/v1/me", Shared, None,
            [U, A, A, A, A, A, A, A, A, A, A, A]),
        api("POST /api/v1/me/mfa/enrol", Shared, None,
            [U, A, A, A, A, A, A, A, A, A, A, A]),
        api("POST /api/v1/me/mfa/confirm", Twin, Some(json!({ "code": "{totp}" })),
            [U, A, A, A, A, A, A, A, A, A, A, A]),
        api("POST /api/v1/me/password", Twin, Some(json!({
                "current_password": PASSWORD, "new_password": "a matrix password of my own" })),
            [U, A, A, A, A, A, A, A, A, A, A, A]),
        // ---- accounts (admin) -------------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("GET /api/v1/users", Shared, None,
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        api("POST /api/v1/users", Shared, Some(json!({
                "username": "{unique}", "display_name": "Matrix account", "role": "volunteer",
                "area": "412", "password": PASSWORD })),
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        api("POST /api/v1/users/{id}/disable", Shared, None,
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        api("POST /api/v1/users/{id}/enable", Shared, None,
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        api("POST /api/v1/users/{id}/reset-password", Shared, Some(json!({ "password": PASSWORD })),
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        api("POST /api/v1/users/{id}/reset-mfa", Shared, None,
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        // ---- audit (auditor) --------------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("GET /api/v1/audit", Shared, None,
            [U, F, F, F, F, F, F, F, F, F, F, A]),
        api("GET /api/v1/audit/verify", Shared, None,
            [U, F, F, F, F, F, F, F, F, F, F, A]),
        // A well-formed checkpoint of another installation: 422 once authorised.
        api("POST /api/v1/audit/verify", Shared, Some(json!({ "checkpoint": foreign_checkpoint() })),
            [U, F, F, F, F, F, F, F, F, F, F, N]),
        api("POST /api/v1/audit/checkpoint", Shared, None,
            [U, F, F, F, F, F, F, F, F, F, F, A]),
        // ---- areas, service categories and providers -----------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("GET /api/v1/areas", Shared, None,
            [U, A, A, A, A, A, A, A, A, A, A, A]),
        api("POST /api/v1/areas", Shared, Some(json!({
                "code": "{unique}", "name": "Phường Kiểm Tra", "kind": "ward", "parent": "40" })),
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        // The same name again: the row checks who may edit, and changes nothing.
        api("PATCH /api/v1/areas/{code}", Shared, Some(json!({ "name": "Thành phố Vinh" })),
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        // ---- moves across a reform (supervisors' clients, the admin's accounts) -----------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("GET /api/v1/moves", Shared, None,
            [U, A, A, A, F, F, F, F, F, F, F, F]),
        // The client's unit is in force (422 for her supervisor), or not hers to move (the
        // same 422 for another supervisor: her existence is not told).
        api("POST /api/v1/moves/clients", Shared, Some(json!({
                "on": "2025-07-01", "moves": [{ "code": "{code}", "to": "413" }] })),
            [U, F, N, N, F, F, F, F, F, F, F, F]),
        api("POST /api/v1/moves/accounts", Shared, Some(json!({
                "moves": [{ "username": "{unique}", "to": "412" }] })),
            [U, N, F, F, F, F, F, F, F, F, F, F]),
        // ---- who receives the report (admin) -----------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("GET /api/v1/report-addressees", Shared, None,
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        api("POST /api/v1/report-addressees", Shared, Some(json!({
                "role": "recipient", "name": "Sở Y tế tỉnh Nghệ An", "valid_from": "2030-01-01" })),
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        api("GET /api/v1/categories", Shared, None,
            [U, A, A, A, A, A, A, A, A, A, A, A]),
        api("POST /api/v1/categories", Shared, Some(json!({
                "code": "matrix_check", "name_vi": "Kiểm tra ma trận", "name_en": "Matrix check" })),
            [U, A, F, F, F, F, F, F, F, F, F, F]),
        api("GET /api/v1/providers", Shared, None,
            [U, A, A, A, A, A, A, A, A, F, F, F]),
        // A supervisor manages the providers of her own area only.
        api("POST /api/v1/providers", Shared, Some(json!({
                "name": "Quỹ tín dụng Bến Thuỷ", "category": "loan", "area": "412" })),
            [U, A, A, F, F, F, F, F, F, F, F, F]),
        api("GET /api/v1/providers/{id}", Shared, None,
            [U, A, A, A, A, A, A, A, A, F, F, F]),
        api("PATCH /api/v1/providers/{id}", Shared, Some(json!({ "contact": "Phòng giao dịch số 2" })),
            [U, A, A, F, F, F, F, F, F, F, F, F]),
        // ---- clients ------------------------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("POST /api/v1/clients", Shared, Some(NEW.intake("412", "{today}")),
            [U, F, A, F, A, A, F, F, F, F, F, F]),
        api("GET /api/v1/clients", Shared, None,
            [U, F, A, A, A, A, A, A, A, F, F, F]),
        api("GET /api/v1/clients/{id}", Shared, None,
            [U, H, A, H, A, F, H, A, H, H, H, H]),
        api("PATCH /api/v1/clients/{id}", Fresh(Client), Some(json!({ "version": "{version}", "eligible": true })),
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        api("POST /api/v1/clients/{id}/close", Fresh(Client), Some(json!({ "reason": "reintegrated" })),
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        // Closing the case ended the volunteer's assignment: she no longer knows of it.
        api("POST /api/v1/clients/{id}/reopen", Fresh(Closed), Some(json!({})),
            [U, H, A, H, A, F, H, H, H, H, H, H]),
        api("POST /api/v1/clients/{id}/reassign", Fresh(Client), Some(json!({ "user_id": "{spare_worker}" })),
            [U, H, A, H, F, F, H, F, H, H, H, H]),
        api("POST /api/v1/clients/{id}/erase", Fresh(Client), Some(json!({ "reason": ERASE_REASON })),
            [U, H, A, H, F, F, H, F, H, H, H, H]),
        api("GET /api/v1/alerts", Shared, None,
            [U, F, A, A, A, A, A, F, F, F, F, F]),
        // A closure review is the supervisor's: the worker whose closure it reviews must
        // not be able to clear it from the supervisors' list.
        // (The closure also ended the volunteer's assignment: she no longer knows of it.)
        api("POST /api/v1/alerts/{id}/acknowledge", Fresh(ClosureReview), None,
            [U, H, A, H, F, F, H, H, H, H, H, H]),
        // ---- consents and needs -----------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("POST /api/v1/clients/{id}/consents", Shared, Some(json!({
                "scope": "referral_sharing", "category": "counselling" })),
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        api("POST /api/v1/clients/{id}/consents/{consent_id}/withdraw", Fresh(Client), Some(json!({})),
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        api("POST /api/v1/clients/{id}/needs", Shared, Some(json!({ "category": "loan", "detail": NEED_DETAIL })),
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        // ---- volunteers and support -------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        // Assigning the volunteer who already is assigned answers 200 and changes nothing.
        api("POST /api/v1/clients/{id}/volunteers", Shared, Some(json!({ "user_id": "{volunteer_assigned}" })),
            [U, H, A, H, F, F, H, F, H, H, H, H]),
        api("DELETE /api/v1/clients/{id}/volunteers/{user_id}", Fresh(Client), None,
            [U, H, A, H, F, F, H, F, H, H, H, H]),
        api("POST /api/v1/clients/{id}/support-logs", Shared, Some(json!({
                "kind": "home_visit", "on": "{today}", "duration_minutes": 30, "note": SUPPORT_NOTE })),
            [U, H, F, H, F, F, H, A, H, H, H, H]),
        api("GET /api/v1/follow-ups", Shared, None,
            [U, F, A, A, A, A, A, F, F, F, F, F]),
        api("POST /api/v1/follow-ups/{id}/done", Fresh(FollowUp), None,
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        // ---- referrals ----------------------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("POST /api/v1/clients/{id}/referrals", Shared, Some(json!({
                "category": "loan", "provider_id": "{provider}", "detail": REFERRAL_DETAIL })),
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        api("GET /api/v1/clients/{id}/referrals", Shared, None,
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        api("GET /api/v1/referrals/follow-ups", Shared, None,
            [U, F, A, A, A, A, A, F, F, F, F, F]),
        api("GET /api/v1/referrals/{id}", Shared, None,
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        api("POST /api/v1/referrals/{id}/transitions", Fresh(Referral), Some(json!({ "to": "accepted" })),
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        api("GET /api/v1/referrals/{id}/slip", Shared, None,
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        // ---- break-glass --------------------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        // Only from outside the client's scope, and only for case workers.
        api("POST /api/v1/clients/{id}/break-glass", Fresh(Client), Some(json!({ "reason": BREAK_GLASS_REASON })),
            [U, H, F, A, F, A, A, F, H, H, H, H]),
        api("GET /api/v1/break-glass", Shared, None,
            [U, F, A, A, A, A, A, F, F, F, F, A]),
        // ---- transfers ----------------------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        // Asked by the client's own side only (never through break-glass); decided by the
        // receiving area's supervisor (421 here); both sides see it, nobody else.
        api("POST /api/v1/clients/{id}/transfers", Fresh(Client), Some(json!({
                "to_area": "421", "reason": TRANSFER_REASON })),
            [U, H, A, H, A, F, H, F, H, H, H, H]),
        api("GET /api/v1/transfers", Shared, None,
            [U, F, A, A, A, A, A, F, F, F, F, F]),
        api("POST /api/v1/transfers/{id}/accept", Fresh(Transfer), Some(json!({})),
            [U, H, F, A, F, H, H, H, H, H, H, H]),
        api("POST /api/v1/transfers/{id}/decline", Fresh(Transfer), Some(json!({})),
            [U, H, F, A, F, H, H, H, H, H, H, H]),
        api("POST /api/v1/transfers/{id}/cancel", Fresh(Transfer), Some(json!({})),
            [U, H, A, H, A, H, H, H, H, H, H, H]),
        // ---- statistics (managers) ----------------------------------------------------------
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        api("POST /api/v1/stats/releases", Shared, Some(json!({
                "period": "2024", "reason": "Matrix: the year's release" })),
            [U, F, F, F, F, F, F, F, F, A, F, F]),
        api("GET /api/v1/stats/releases", Shared, None,
            [U, F, F, F, F, F, F, F, F, A, A, F]),
        api("GET /api/v1/stats/releases/{id}", Shared, None,
            [U, F, F, F, F, F, F, F, F, A, A, F]),
        api("GET /api/v1/stats/progress", Shared, None,
            [U, F, F, F, F, F, F, F, F, A, A, F]),
    ]
}

// ---------------------------------------------------------------------------------------
// The page table
// ---------------------------------------------------------------------------------------

fn page(op: &'static str, on: On, form: Option<&'static [(&'static str, &'static str)]>, expect: [Outcome; 12]) -> Row {
    Row {
        op,
        on,
        body: None,
        form,
        expect,
    }
}

const INTAKE_FORM: &[(&str, &str)] = &[
    ("area", "412"),
    ("full_name", NEW.full_name),
    ("chosen_name", NEW.chosen_name),
    ("date_of_birth", NEW.date_of_birth),
    ("id_number", NEW.id_number),
    ("phone", NEW.phone),
    ("eligible", "yes"),
    ("consents.data_processing", "on"),
];

const SUPPORT_FORM: &[(&str, &str)] = &[("kind", "phone_call"), ("on", "{today}"), ("duration_minutes", "10")];

/// The pages that show or change client data, or find clients. Anonymous visitors are
/// sent to the login form; otherwise the services' answers (HTML error pages).
///
/// Completeness: page routes are not in the OpenAPI document, so
/// [`every_page_route_is_in_the_page_table_or_listed_outside_it`] reads them from `src/`:
/// each must be a row here or be named in [`PAGES_OUTSIDE_THE_MATRIX`] with its reason.
#[rustfmt::skip]
fn page_table() -> Vec<Row> {
    use On::*;
    vec![
        //   an ad S+ S- W+ W= W- V+ V- MP MD au
        page("GET /", Shared, None,
            [L, A, A, A, A, A, A, A, A, A, A, A]),
        // Finding a code opens the case page, which offers break-glass to case workers
        // outside the scope; to anyone who may neither list the code nor break glass the
        // answer must be the one for an unknown code (no redirect to the client's id).
        page("POST /clients/find", Shared, Some(&[("code", "{code}")]),
            [L, N, A, A, A, A, A, A, N, N, N, N]),
        page("GET /clients/new", Shared, None,
            [L, F, A, A, A, A, A, F, F, F, F, F]),
        page("POST /clients/new", Shared, Some(INTAKE_FORM),
            [L, F, A, F, A, A, F, F, F, F, F, F]),
        // Case workers outside the scope get 403 with the break-glass form (code only).
        page("GET /clients/{id}", Shared, None,
            [L, H, A, F, A, F, F, A, H, H, H, H]),
        page("GET /clients/{id}/edit", Shared, None,
            [L, H, A, H, A, F, H, F, H, H, H, H]),
        page("GET /clients/{id}/support", Shared, None,
            [L, H, F, H, F, F, H, A, H, H, H, H]),
        page("POST /clients/{id}/support", Shared, Some(SUPPORT_FORM),
            [L, H, F, H, F, F, H, A, H, H, H, H]),
        page("GET /clients/{id}/transfer", Shared, None,
            [L, H, A, H, A, F, H, F, H, H, H, H]),
        page("GET /transfers", Shared, None,
            [L, F, A, A, A, A, A, F, F, F, F, F]),
        page("GET /referrals/{id}/slip", Shared, None,
            [L, H, A, H, A, F, H, F, H, H, H, H]),
        page("GET /audit", Shared, None,
            [L, F, F, F, F, F, F, F, F, F, F, A]),
        // The auditor's filter by client code: a form POST, the code never in a URL.
        page("POST /audit", Shared, Some(&[("client_code", "{code}")]),
            [L, F, F, F, F, F, F, F, F, F, F, A]),
        page("GET /audit/verify", Shared, None,
            [L, F, F, F, F, F, F, F, F, F, F, A]),
        page("POST /audit/verify", Shared, Some(&[("checkpoint", "{}")]),
            [L, F, F, F, F, F, F, F, F, F, F, N]),
        page("POST /audit/checkpoint", Shared, None,
            [L, F, F, F, F, F, F, F, F, F, F, A]),
        page("GET /moves", Shared, None,
            [L, A, A, A, F, F, F, F, F, F, F, F]),
        page("GET /admin/areas", Shared, None,
            [L, A, F, F, F, F, F, F, F, F, F, F]),
        page("GET /admin/report-addressees", Shared, None,
            [L, A, F, F, F, F, F, F, F, F, F, F]),
        page("GET /stats", Shared, None,
            [L, F, F, F, F, F, F, F, F, A, A, F]),
        page("GET /stats/releases/{id}", Shared, None,
            [L, F, F, F, F, F, F, F, F, A, A, F]),
    ]
}

/// Page routes not in [`page_table`], and why. (The probes `/healthz` and `/readyz` are
/// not pages; `auth.rs` and `sealed_store.rs` test them.)
const PAGES_OUTSIDE_THE_MATRIX: &[(&str, &str)] = &[
    ("GET /static/hoanhap.css", "stylesheet"),
    (
        "POST /clients/{id}/transfer",
        "service of POST /api/v1/clients/{id}/transfers",
    ),
    (
        "POST /transfers/{id}/accept",
        "service of POST /api/v1/transfers/{id}/accept",
    ),
    (
        "POST /transfers/{id}/decline",
        "service of POST /api/v1/transfers/{id}/decline",
    ),
    (
        "POST /transfers/{id}/cancel",
        "service of POST /api/v1/transfers/{id}/cancel",
    ),
    ("GET /login", "login form"),
    (
        "POST /login",
        "login (the API row POST /api/v1/session covers the same accounts code)",
    ),
    ("POST /logout", "logout"),
    ("GET /setup/{token}", "first-admin setup by one-time token"),
    ("POST /setup/{token}", "first-admin setup by one-time token"),
    ("GET /account", "own account"),
    ("GET /account/mfa", "own second factor"),
    ("GET /account/password", "own password"),
    ("POST /account/password", "own password (API: POST /api/v1/me/password)"),
    (
        "POST /account/mfa/start",
        "own second factor (API: POST /api/v1/me/mfa/enrol)",
    ),
    (
        "POST /account/mfa/confirm",
        "own second factor (API: POST /api/v1/me/mfa/confirm)",
    ),
    ("GET /admin/users", "accounts, no client data (API: GET /api/v1/users)"),
    ("POST /admin/users", "accounts (API: POST /api/v1/users)"),
    ("GET /admin/users/{id}", "one account, no client data"),
    ("POST /admin/users/{id}/disable", "accounts (API row)"),
    ("POST /admin/users/{id}/enable", "accounts (API row)"),
    ("POST /admin/users/{id}/reset-password", "accounts (API row)"),
    ("POST /admin/users/{id}/reset-mfa", "accounts (API row)"),
    ("POST /admin/areas", "areas (API: POST /api/v1/areas)"),
    (
        "POST /admin/report-addressees",
        "report addressees (API: POST /api/v1/report-addressees)",
    ),
    (
        "GET /admin/areas/{code}",
        "one area, no client data (service of GET /admin/areas)",
    ),
    ("POST /admin/areas/{code}", "areas (API: PATCH /api/v1/areas/{code})"),
    ("POST /moves/clients", "service of POST /api/v1/moves/clients"),
    ("POST /moves/accounts", "service of POST /api/v1/moves/accounts"),
    (
        "GET /providers",
        "provider directory, no client data (API: GET /api/v1/providers)",
    ),
    ("POST /providers", "provider directory (API: POST /api/v1/providers)"),
    (
        "POST /providers/{id}/active",
        "provider directory (API: PATCH /api/v1/providers/{id})",
    ),
    (
        "POST /stats/releases",
        "the same publish function as POST /api/v1/stats/releases",
    ),
    // Forms of the case page: each calls the same authorised service function as its API row.
    ("POST /clients/{id}/needs", "service of POST /api/v1/clients/{id}/needs"),
    (
        "POST /clients/{id}/consents",
        "service of POST /api/v1/clients/{id}/consents",
    ),
    (
        "POST /clients/{id}/consents/{consent_id}/withdraw",
        "service of POST /api/v1/clients/{id}/consents/{consent_id}/withdraw",
    ),
    (
        "POST /clients/{id}/referrals",
        "service of POST /api/v1/clients/{id}/referrals",
    ),
    (
        "POST /referrals/{id}/transitions",
        "service of POST /api/v1/referrals/{id}/transitions",
    ),
    (
        "POST /clients/{id}/volunteers",
        "service of POST /api/v1/clients/{id}/volunteers",
    ),
    (
        "POST /clients/{id}/volunteers/{user_id}/remove",
        "service of DELETE /api/v1/clients/{id}/volunteers/{user_id}",
    ),
    ("POST /clients/{id}/edit", "service of PATCH /api/v1/clients/{id}"),
    (
        "POST /clients/{id}/reassign",
        "service of POST /api/v1/clients/{id}/reassign",
    ),
    ("POST /clients/{id}/close", "service of POST /api/v1/clients/{id}/close"),
    (
        "POST /clients/{id}/reopen",
        "service of POST /api/v1/clients/{id}/reopen",
    ),
    ("POST /clients/{id}/erase", "service of POST /api/v1/clients/{id}/erase"),
    (
        "POST /clients/{id}/break-glass",
        "service of POST /api/v1/clients/{id}/break-glass",
    ),
    (
        "POST /alerts/{id}/acknowledge",
        "service of POST /api/v1/alerts/{id}/acknowledge",
    ),
    (
        "POST /follow-ups/{id}/done",
        "service of POST /api/v1/follow-ups/{id}/done",
    ),
];

// ---------------------------------------------------------------------------------------
// Sessions and fixtures
// ---------------------------------------------------------------------------------------

/// A cookie jar that does not follow redirects, with the session's CSRF token.
struct Session {
    http: reqwest::Client,
    csrf: Option<String>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Session {
    fn anonymous() -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            csrf: None,
        }
    }

    async fn login(server: &TestServer, username: &str) -> Self {
        let mut session = Self::anonymous();
        let res = session
            .http
            .post(server.url("/api/v1/session"))
            .json(&json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login of {username}");
        let body: Value = res.json().await.unwrap();
        session.csrf = Some(body["csrf_token"].as_str().unwrap().to_owned());
        session
    }

    async fn send(
        &self,
        server: &TestServer,
        method: &str,
        path: &str,
        body: Option<&Value>,
        form: Option<&[(String, String)]>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, server.url(path));
        if let Some(csrf) = &self.csrf {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(form) = form {
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .finish();
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = res.text().await.unwrap_or_default();
        Answer { status, location, body }
    }

    async fn ok(&self, server: &TestServer, method: &str, path: &str, body: Value) -> Value {
        let body = (!body.is_null()).then_some(&body);
        let answer = self.send(server, method, path, body, None).await;
        assert!(
            (200..300).contains(&answer.status),
            "fixture {method} {path}: {} {}",
            answer.status,
            answer.body
        );
        if answer.body.is_empty() {
            Value::Null
        } else {
            answer.json()
        }
    }
}

/// One client with the objects the client routes act on.
#[derive(Clone, Debug, Default)]
struct Case {
    id: String,
    code: String,
    /// A consent that can be withdrawn (`reporting`).
    consent: String,
    referral: String,
    /// A support log flagged "needs follow-up".
    follow_up: String,
    /// The closure-review alert ([`With::ClosureReview`] only).
    alert: Option<String>,
    /// The waiting transfer ([`With::Transfer`] only).
    transfer: Option<String>,
    version: i64,
}

struct World {
    _env: TestEnv,
    server: TestServer,
    ids: HashMap<Who, String>,
    sessions: HashMap<Who, Session>,
    spare: String,
    provider: String,
    release: String,
    today: String,
    opened_on: String,
    shared: Case,
    other: Case,
    prefix: String,
    made: usize,
}

impl World {
    async fn new() -> Self {
        let mut env = TestEnv::new().await;
        env.settings.auth.mfa_required_roles.clear();
        let server = TestServer::start(env.state().await).await;
        let state = &server.state;
        let mut ids = HashMap::new();
        for who in COLUMNS {
            if let Some((username, role, area)) = who.account() {
                ids.insert(who, add_user(state, username, role, area).await);
            }
        }
        let spare = add_user(state, SPARE, Role::SocialWorker, "412").await;
        let mut sessions = HashMap::new();
        for who in COLUMNS {
            if let Some((username, _, _)) = who.account() {
                sessions.insert(who, Session::login(&server, username).await);
            }
        }
        let today = state.clock.today();
        let prefix = state.settings.programme.code_prefix.clone();
        let mut world = World {
            _env: env,
            ids,
            sessions,
            spare,
            provider: String::new(),
            release: String::new(),
            today: today.to_string(),
            opened_on: (today - chrono::Duration::days(30)).to_string(),
            shared: Case::default(),
            other: Case::default(),
            prefix,
            made: 0,
            server,
        };
        let provider = world
            .session(Who::Admin)
            .ok(
                &world.server,
                "POST",
                "/api/v1/providers",
                json!({ "name": "Ngân hàng Chính sách xã hội Vinh", "category": "loan", "area": "412" }),
            )
            .await;
        world.provider = provider["id"].as_str().unwrap().to_owned();
        let release = world
            .session(Who::ManagerProvince)
            .ok(
                &world.server,
                "POST",
                "/api/v1/stats/releases",
                json!({ "period": "2024-H1" }),
            )
            .await;
        world.release = release["id"].as_str().unwrap().to_owned();
        world.shared = world.case(Parts::SHARED).await;
        let other = world
            .session(Who::WorkerOther)
            .ok(
                &world.server,
                "POST",
                "/api/v1/clients",
                OTHER.intake("421", &world.opened_on),
            )
            .await;
        world.other = Case {
            id: other["id"].as_str().unwrap().to_owned(),
            code: other["code"].as_str().unwrap().to_owned(),
            ..Case::default()
        };
        world
    }

    fn session(&self, who: Who) -> &Session {
        &self.sessions[&who]
    }

    /// A client of 412 on `lan.sw`'s caseload, opened 30 days ago, with its consents
    /// (sharing for loans and health care) and the `parts` asked for, all made through the
    /// API.
    async fn case(&mut self, parts: Parts) -> Case {
        self.made += 1;
        let server = &self.server;
        let worker = self.session(Who::WorkerOwn);
        let supervisor = self.session(Who::SupervisorOwn);
        let volunteer = self.session(Who::VolunteerAssigned);
        let intake = TARGET.intake("412", &self.opened_on);
        let created = worker.ok(server, "POST", "/api/v1/clients", intake).await;
        let text = |v: &Value| v.as_str().unwrap().to_owned();
        let mut case = Case {
            id: text(&created["id"]),
            code: text(&created["code"]),
            consent: text(
                &created["consents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["scope"] == "reporting")
                    .expect("the reporting consent given at intake")["id"],
            ),
            version: created["version"]
                .as_i64()
                .expect("the version, for the assigned worker"),
            ..Case::default()
        };
        let base = format!("/api/v1/clients/{}", case.id);
        if parts.volunteer {
            let assign = json!({ "user_id": self.ids[&Who::VolunteerAssigned] });
            supervisor
                .ok(server, "POST", &format!("{base}/volunteers"), assign)
                .await;
        }
        if parts.referral {
            let need = json!({ "category": "loan", "detail": NEED_DETAIL });
            let need = worker.ok(server, "POST", &format!("{base}/needs"), need).await;
            let referral = json!({ "category": "loan", "need_id": need["id"], "provider_id": self.provider,
                                   "detail": REFERRAL_DETAIL });
            let referral = worker.ok(server, "POST", &format!("{base}/referrals"), referral).await;
            case.referral = text(&referral["id"]);
        }
        if parts.follow_up {
            let log = json!({ "kind": "home_visit", "on": self.today, "note": SUPPORT_NOTE, "needs_follow_up": true });
            let log = volunteer.ok(server, "POST", &format!("{base}/support-logs"), log).await;
            case.follow_up = text(&log["id"]);
        }
        if parts.closed {
            let close = json!({ "reason": "moved_away" });
            supervisor.ok(server, "POST", &format!("{base}/close"), close).await;
        }
        if parts.closure_review {
            let close = json!({ "reason": "reintegrated" });
            worker.ok(server, "POST", &format!("{base}/close"), close).await;
            let alerts = supervisor.ok(server, "GET", "/api/v1/alerts", Value::Null).await;
            let alert = alerts["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["client_id"] == case.id.as_str() && a["kind"] == "closure_review")
                .unwrap_or_else(|| panic!("a closure review alert for {}: {alerts}", case.code));
            case.alert = Some(text(&alert["id"]));
        }
        if parts.transfer {
            let ask = json!({ "to_area": "421", "reason": TRANSFER_REASON });
            let transfer = worker.ok(server, "POST", &format!("{base}/transfers"), ask).await;
            case.transfer = Some(text(&transfer["id"]));
        }
        case
    }

    /// A new account like `who`'s, logged in, that has started enrolling a second factor;
    /// answers the session and the current TOTP code.
    async fn twin(&self, who: Who, n: usize) -> (Session, String) {
        let (_, role, area) = who.account().unwrap();
        let username = format!("twin{n}.matrix");
        add_user(&self.server.state, &username, role, area).await;
        let session = Session::login(&self.server, &username).await;
        let enrolment = session
            .ok(&self.server, "POST", "/api/v1/me/mfa/enrol", Value::Null)
            .await;
        let secret = enrolment["secret"].as_str().unwrap();
        let bytes = totp_rs::Secret::try_from_base32(secret).unwrap().as_bytes().to_vec();
        let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
        let now = u64::try_from(self.server.state.clock.now().timestamp()).unwrap();
        (session, totp.generate(now).to_string())
    }

    /// Runs every row of `table` for every column; answers one line per disagreement.
    async fn run(&mut self, table: &[Row], is_page: bool) -> Vec<String> {
        let mut problems = Vec::new();
        let mut twins = 0;
        for (r, row) in table.iter().enumerate() {
            let (method, template) = row.op.split_once(' ').unwrap();
            for (col, who) in COLUMNS.iter().copied().enumerate() {
                let anonymous = who == Who::Anonymous;
                let case = match row.on {
                    On::Fresh(with) if !anonymous => self.case(Parts::fresh(with)).await,
                    // Anonymous is refused before any object is looked at.
                    On::Fresh(With::ClosureReview) => Case {
                        alert: Some("no-such-alert".into()),
                        ..self.shared.clone()
                    },
                    On::Fresh(With::Transfer) => Case {
                        transfer: Some("no-such-transfer".into()),
                        ..self.shared.clone()
                    },
                    _ => self.shared.clone(),
                };
                let mut totp = String::from("000000");
                let fresh_session = match (who, row.on) {
                    (Who::Anonymous, _) => Some(Session::anonymous()),
                    (_, On::NewLogin) => Some(Session::login(&self.server, who.account().unwrap().0).await),
                    (_, On::Twin) => {
                        twins += 1;
                        let (session, code) = self.twin(who, twins).await;
                        totp = code;
                        Some(session)
                    }
                    _ => None,
                };
                let session = fresh_session.as_ref().unwrap_or_else(|| self.session(who));
                let ctx = Ctx {
                    world: self,
                    case: &case,
                    who,
                    unique: format!("matrix.r{r}c{col}"),
                    totp,
                };
                let path = ctx.path(template);
                let body = row.body.as_ref().map(|b| ctx.value(b));
                let form: Option<Vec<(String, String)>> = row
                    .form
                    .map(|form| form.iter().map(|(k, v)| ((*k).to_owned(), ctx.text(v))).collect());
                let answer = session
                    .send(&self.server, method, &path, body.as_ref(), form.as_deref())
                    .await;
                let actual = classify(answer.status, answer.location.as_deref());
                let expected = row.expect[col];
                if actual != expected {
                    let snippet: String = answer.body.chars().take(160).collect();
                    problems.push(format!(
                        "{} as {who:?}: expected {expected:?}, got {actual:?} ({} {snippet})",
                        row.op, answer.status
                    ));
                }
                for found in self.leaks(who, &answer.body, is_page) {
                    problems.push(format!("{} as {who:?}: the answer contains {found:?}", row.op));
                }
                // An accepted transfer made the fresh client 421's: her new supervisor
                // erases it, so that 421's staff rightly seeing it cannot pass for a leak
                // in the rows after this one.
                if row.op == "POST /api/v1/transfers/{id}/accept" && actual == Outcome::Allowed {
                    let erase = json!({ "reason": ERASE_REASON });
                    session
                        .ok(
                            &self.server,
                            "POST",
                            &format!("/api/v1/clients/{}/erase", case.id),
                            erase,
                        )
                        .await;
                }
            }
        }
        problems
    }

    /// What `who` must never find in an answer.
    fn leaks(&self, who: Who, body: &str, is_page: bool) -> Vec<String> {
        let target = TARGET
            .secrets()
            .into_iter()
            .chain([NEED_DETAIL, REFERRAL_DETAIL, SUPPORT_NOTE]);
        let other: Vec<&str> = OTHER.secrets();
        let mut forbidden: Vec<String> = Vec::new();
        let mut codes_forbidden = false;
        match who {
            Who::Anonymous | Who::Admin | Who::ManagerProvince | Who::ManagerDistrict | Who::Auditor => {
                forbidden.extend(target.map(str::to_owned));
                forbidden.extend(other.iter().map(|s| (*s).to_owned()));
                forbidden.extend(NEW.secrets().into_iter().map(str::to_owned));
                // The auditor sees codes (who touched which client); nobody else here does.
                codes_forbidden = who != Who::Auditor;
            }
            Who::SupervisorOther | Who::WorkerOther => {
                forbidden.extend(target.map(str::to_owned));
                // The break-glass page names the code of the client asked for; the API
                // never names the shared client (break-glass rows use fresh ones).
                if !is_page {
                    forbidden.push(self.shared.code.clone());
                }
            }
            Who::WorkerSameDistrict => {
                forbidden.extend(target.map(str::to_owned));
                forbidden.extend(other.iter().map(|s| (*s).to_owned()));
                forbidden.push(self.other.code.clone());
            }
            Who::VolunteerUnassigned => {
                forbidden.extend(target.map(str::to_owned));
                forbidden.extend(other.iter().map(|s| (*s).to_owned()));
                forbidden.push(self.shared.code.clone());
                forbidden.push(self.other.code.clone());
            }
            Who::VolunteerAssigned => {
                forbidden.extend(TARGET.identity().into_iter().map(str::to_owned));
                forbidden.extend([NEED_DETAIL, REFERRAL_DETAIL].map(str::to_owned));
                forbidden.extend(other.iter().map(|s| (*s).to_owned()));
                forbidden.push(self.other.code.clone());
            }
            Who::SupervisorOwn | Who::WorkerOwn => {
                forbidden.extend(other.iter().map(|s| (*s).to_owned()));
                forbidden.push(self.other.code.clone());
            }
        }
        let mut found: Vec<String> = forbidden
            .into_iter()
            .filter(|s| !s.is_empty() && body.contains(s.as_str()))
            .collect();
        if codes_forbidden && has_client_code(body, &self.prefix) {
            found.push(format!("a client code ({}-…)", self.prefix));
        }
        found
    }
}

/// What a row's placeholders stand for, for one principal.
struct Ctx<'a> {
    world: &'a World,
    case: &'a Case,
    who: Who,
    unique: String,
    totp: String,
}

impl Ctx<'_> {
    /// The path with each `{param}` filled from the fixtures, chosen by the segment
    /// before it; a new kind of parameter must be taught here.
    fn path(&self, template: &str) -> String {
        let (path, query) = match template.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (template, None),
        };
        let mut out = Vec::new();
        let mut prev = "";
        for segment in path.split('/') {
            let filled = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                None => segment.to_owned(),
                Some(param) => match (prev, param) {
                    ("clients", "id") => self.case.id.clone(),
                    ("consents", "consent_id") => self.case.consent.clone(),
                    ("volunteers", "user_id") => self.world.ids[&Who::VolunteerAssigned].clone(),
                    ("referrals", "id") => self.case.referral.clone(),
                    ("follow-ups", "id") => self.case.follow_up.clone(),
                    ("alerts", "id") => self
                        .case
                        .alert
                        .clone()
                        .unwrap_or_else(|| panic!("{template}: alert rows need Fresh(ClosureReview)")),
                    ("transfers", "id") => self
                        .case
                        .transfer
                        .clone()
                        .unwrap_or_else(|| panic!("{template}: transfer rows need Fresh(Transfer)")),
                    ("providers", "id") => self.world.provider.clone(),
                    ("areas", "code") => "412".to_owned(),
                    ("users", "id") => self.world.spare.clone(),
                    ("releases", "id") => self.world.release.clone(),
                    _ => panic!("{template}: no fixture for {{{param}}} after /{prev}/; teach Ctx::path"),
                },
            };
            prev = segment;
            out.push(filled);
        }
        let mut path = out.join("/");
        if let Some(query) = query {
            path.push('?');
            path.push_str(&self.text(query));
        }
        path
    }

    fn text(&self, s: &str) -> String {
        s.replace("{today}", &self.world.today)
            .replace("{code}", &self.case.code)
            .replace("{unique}", &self.unique)
    }

    /// A JSON body with its `"{placeholder}"` strings replaced.
    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => match s.as_str() {
                "{version}" => json!(self.case.version),
                "{username}" => json!(self.who.account().map_or(SPARE, |a| a.0)),
                "{totp}" => json!(self.totp),
                "{provider}" => json!(self.world.provider),
                "{volunteer_assigned}" => json!(self.world.ids[&Who::VolunteerAssigned]),
                "{spare_worker}" => json!(self.world.spare),
                other => json!(self.text(other)),
            },
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.value(v))).collect()),
            other => other.clone(),
        }
    }
}

fn report(title: &str, problems: &[String]) -> String {
    let mut out = format!("{title}: {} problem(s)\n", problems.len());
    for p in problems {
        let _ = writeln!(out, "  - {p}");
    }
    out
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_route_answers_each_principal_as_the_table_says() {
    let started = std::time::Instant::now();
    let mut world = World::new().await;
    let mut problems = world.run(&api_table(), false).await;
    problems.extend(world.run(&page_table(), true).await);

    // A social worker cannot reach another caseload's client by id or by code, through the
    // API or the pages (the break-glass form, which names the code she typed, aside).
    let shared = world.shared.clone();
    for who in [Who::WorkerSameDistrict, Who::WorkerOther] {
        let session = world.session(who);
        for path in [
            format!("/api/v1/clients/{}", shared.id),
            format!("/api/v1/clients/{}", shared.code),
            format!("/api/v1/clients/{}/referrals", shared.code),
            format!("/api/v1/audit?client_code={}", shared.code),
            format!("/clients/{}", shared.code),
            format!("/clients/{}/support", shared.code),
        ] {
            let answer = session.send(&world.server, "GET", &path, None, None).await;
            if (200..300).contains(&answer.status) {
                problems.push(format!("GET {path} as {who:?}: {} for another caseload", answer.status));
            }
            for secret in TARGET.secrets() {
                if answer.body.contains(secret) {
                    problems.push(format!("GET {path} as {who:?}: the answer contains {secret:?}"));
                }
            }
        }
    }
    // The searches above would pass vacuously if the stored text came back in another
    // form (Unicode normalisation, phone format): the principals who may see it must find it.
    let controls = [
        (Who::WorkerOwn, format!("/api/v1/clients/{}", shared.id), {
            let mut all = TARGET.secrets();
            all.extend([NEED_DETAIL, SUPPORT_NOTE]);
            all
        }),
        (
            Who::WorkerOwn,
            format!("/api/v1/clients/{}/referrals", shared.id),
            vec![REFERRAL_DETAIL],
        ),
        (
            Who::WorkerOwn,
            format!("/clients/{}", shared.id),
            vec![TARGET.full_name, TARGET.id_number],
        ),
        (
            Who::VolunteerAssigned,
            format!("/api/v1/clients/{}", shared.id),
            vec![TARGET.chosen_name, &TARGET.phone[1..], SUPPORT_NOTE],
        ),
        (
            Who::WorkerOther,
            format!("/api/v1/clients/{}", world.other.id),
            OTHER.secrets(),
        ),
        (
            Who::Auditor,
            "/api/v1/audit?limit=1000".to_owned(),
            vec![shared.code.as_str()],
        ),
    ];
    for (who, path, expected) in &controls {
        let answer = world.session(*who).send(&world.server, "GET", path, None, None).await;
        assert_eq!(answer.status, 200, "GET {path} as {who:?}: {}", answer.body);
        for text in expected {
            assert!(answer.body.contains(text), "GET {path} as {who:?} should show {text:?}");
        }
    }
    assert!(has_client_code(&format!("[\"{}\"]", shared.code), &world.prefix));

    eprintln!(
        "authorisation matrix: {} API rows, {} page rows, {} columns, {} fixture clients, {:.1} s",
        api_table().len(),
        page_table().len(),
        COLUMNS.len(),
        world.made,
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", report("authorisation matrix", &problems));
}

/// `(method, path)` of every operation of the OpenAPI document.
fn documented(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for method in ["get", "put", "post", "delete", "options", "head", "patch", "trace"] {
            if item.get(method).is_some() {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_documented_operation_has_exactly_one_row() {
    let env = TestEnv::new().await;
    let server = TestServer::start(env.state().await).await;
    let doc: Value = reqwest::get(server.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented = documented(&doc);
    let mut rows = BTreeSet::new();
    let mut problems = Vec::new();
    for row in api_table() {
        if !rows.insert(row.op.to_owned()) {
            problems.push(format!("{} has two rows", row.op));
        }
    }
    for op in documented.difference(&rows) {
        problems.push(format!("{op} is documented but has no row in api_table()"));
    }
    for op in rows.difference(&documented) {
        problems.push(format!("{op} has a row but is not in /api/openapi.json"));
    }
    assert!(problems.is_empty(), "{}", report("API table", &problems));
}

/// `METHOD /path` of every page route, as the pages list them.
fn listed_page_routes() -> BTreeSet<String> {
    let routes: BTreeSet<String> = hoanhap::pages::routes().listed().iter().cloned().collect();
    assert!(
        routes.contains("GET /login") && routes.contains("GET /stats"),
        "{routes:?}"
    );
    routes
}

#[test]
fn every_page_route_is_in_the_page_table_or_listed_outside_it() {
    let in_source = listed_page_routes();
    let mut listed: BTreeMap<String, &str> = BTreeMap::new();
    let mut problems = Vec::new();
    for row in page_table() {
        let op = match row.op.split_once('?') {
            Some((op, _)) => op,
            None => row.op,
        };
        if listed.insert(op.to_owned(), "page_table").is_some() {
            problems.push(format!("{op} is listed twice"));
        }
    }
    for (op, why) in PAGES_OUTSIDE_THE_MATRIX {
        if listed.insert((*op).to_owned(), why).is_some() {
            problems.push(format!("{op} is listed twice"));
        }
    }
    for op in &in_source {
        if !listed.contains_key(op) {
            problems.push(format!(
                "page route {op} is neither in page_table() nor in PAGES_OUTSIDE_THE_MATRIX"
            ));
        }
    }
    for op in listed.keys() {
        if !in_source.contains(op) {
            problems.push(format!("{op} is listed but no such page route is registered"));
        }
    }
    assert!(problems.is_empty(), "{}", report("page table", &problems));
}
