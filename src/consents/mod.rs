//! Consents: what the client agreed to, when, until when, and its withdrawal.
//!
//! Scopes: `data_processing` (required to open a case), `reporting` (counted in
//! statistics where the policy asks it), `volunteer_contact` (a volunteer may see the
//! phone and contact the client), `referral_sharing` (per service category: a referral
//! of that category may be made). Rows are never deleted while the case exists: a
//! withdrawal is dated, so the history stays answerable.
//!
//! Storage functions take a connection or the pool; the authorised operations used by
//! both the API and the pages are [`record`] and [`withdraw`].

mod handlers;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use validator::Validate;

pub use handlers::api;

use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::clients::alerts;
use crate::clients::validation::{self as v, FieldErrors};
use crate::db::{Db, timestamp};
use crate::policy::Action;
use crate::web::ApiError;

pub const DATA_PROCESSING: &str = "data_processing";
pub const REPORTING: &str = "reporting";
pub const VOLUNTEER_CONTACT: &str = "volunteer_contact";
pub const REFERRAL_SHARING: &str = "referral_sharing";
pub const SCOPES: [&str; 4] = [DATA_PROCESSING, REPORTING, VOLUNTEER_CONTACT, REFERRAL_SHARING];

/// A consent to record.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub scope: String,
    /// The service category, for `referral_sharing` only.
    pub category: Option<String>,
    pub given_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
}

/// A stored consent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Consent {
    pub id: String,
    pub scope: String,
    pub category: Option<String>,
    pub given_on: String,
    pub expires_on: Option<String>,
    pub withdrawn_on: Option<String>,
    pub recorded_by: Option<String>,
    pub withdrawn_by: Option<String>,
    /// Given, not withdrawn and not expired today.
    pub active: bool,
}

const COLUMNS: &str = "id, scope, category, given_on, expires_on, withdrawn_on, recorded_by, withdrawn_by";

fn decode(row: &sqlx::any::AnyRow, today: NaiveDate) -> Result<Consent, sqlx::Error> {
    let given_on: String = row.try_get("given_on")?;
    let expires_on: Option<String> = row.try_get("expires_on")?;
    let withdrawn_on: Option<String> = row.try_get("withdrawn_on")?;
    let today = today.to_string();
    let active = given_on <= today
        && withdrawn_on.as_ref().is_none_or(|w| *w > today)
        && expires_on.as_ref().is_none_or(|e| *e >= today);
    Ok(Consent {
        id: row.try_get("id")?,
        scope: row.try_get("scope")?,
        category: row.try_get("category")?,
        given_on,
        expires_on,
        withdrawn_on,
        recorded_by: row.try_get("recorded_by")?,
        withdrawn_by: row.try_get("withdrawn_by")?,
        active,
    })
}

/// Inserts one consent in the caller's transaction.
pub async fn insert(
    conn: &mut AnyConnection,
    client_id: &str,
    consent: &NewConsent,
    recorded_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Consent, sqlx::Error> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO consents (id, client_id, scope, category, given_on, recorded_by, expires_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(client_id)
    .bind(&consent.scope)
    .bind(&consent.category)
    .bind(consent.given_on.to_string())
    .bind(recorded_by)
    .bind(consent.expires_on.map(|d| d.to_string()))
    .bind(timestamp(now))
    .execute(conn)
    .await?;
    // Validation keeps `given_on` at or before the programme's local today, which is the
    // UTC date or the day after it.
    let today = consent.given_on.max(now.date_naive());
    Ok(Consent {
        id,
        scope: consent.scope.clone(),
        category: consent.category.clone(),
        given_on: consent.given_on.to_string(),
        expires_on: consent.expires_on.map(|d| d.to_string()),
        withdrawn_on: None,
        recorded_by: recorded_by.map(str::to_owned),
        withdrawn_by: None,
        active: consent.given_on <= today && consent.expires_on.is_none_or(|e| e >= today),
    })
}

/// Every consent of a client, oldest first; `active` as of `today`.
pub async fn list(db: &Db, client_id: &str, today: NaiveDate) -> Result<Vec<Consent>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM consents WHERE client_id = $1 ORDER BY given_on, created_at, id"
    ))
    .bind(client_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| decode(r, today)).collect()
}

/// One consent of a client.
pub async fn get(db: &Db, client_id: &str, id: &str, today: NaiveDate) -> Result<Option<Consent>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM consents WHERE id = $1 AND client_id = $2"
    ))
    .bind(id)
    .bind(client_id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(|r| decode(r, today)).transpose()
}

/// Whether the client has an active consent of `scope` (and `category`) on `on`.
pub async fn has_active(
    db: &Db,
    client_id: &str,
    scope: &str,
    category: Option<&str>,
    on: NaiveDate,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM consents WHERE client_id = $1 AND scope = $2 AND ($3 = '' OR category = $3) \
         AND given_on <= $4 AND (withdrawn_on IS NULL OR withdrawn_on > $4) AND (expires_on IS NULL OR expires_on >= $4)",
    )
    .bind(client_id)
    .bind(scope)
    .bind(category.unwrap_or(""))
    .bind(on.to_string())
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// `POST /clients/{id}/consents`.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// `data_processing`, `reporting`, `volunteer_contact` or `referral_sharing`.
    #[validate(required)]
    pub scope: Option<String>,
    /// Service category; required for `referral_sharing`, refused otherwise.
    pub category: Option<String>,
    /// Default today; not in the future.
    pub given_on: Option<String>,
    /// After `given_on`.
    pub expires_on: Option<String>,
}

/// `POST /clients/{id}/consents/{consent_id}/withdraw`.
#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    /// Default today; not in the future, not before the consent was given.
    pub on: Option<String>,
}

/// Checks a consent body against the categories and dates; everything bad is named.
pub async fn validate_input(db: &Db, input: &ConsentInput, today: NaiveDate) -> Result<NewConsent, ApiError> {
    let mut errors = v::check(input);
    if let Some(scope) = &input.scope {
        v::one_of(&mut errors, "scope", scope, &SCOPES);
    }
    match (input.scope.as_deref(), input.category.as_deref()) {
        (Some(REFERRAL_SHARING), None) => {
            errors.insert("category".into(), "field-cases-category_required");
        }
        (Some(REFERRAL_SHARING), Some(c)) => v::known_category(db, &mut errors, "category", c).await?,
        (_, Some(_)) => {
            errors.insert("category".into(), "field-cases-category_not_allowed");
        }
        _ => {}
    }
    let given_on = v::past_date(&mut errors, "given_on", input.given_on.as_deref(), today);
    let expires_on = v::any_date(&mut errors, "expires_on", input.expires_on.as_deref());
    if let Some(expires) = expires_on
        && expires <= given_on.unwrap_or(today)
    {
        errors.insert("expires_on".into(), "field-cases-expires_before_given");
    }
    v::finish(errors)?;
    Ok(NewConsent {
        scope: input.scope.clone().unwrap_or_default(),
        category: input.category.clone(),
        given_on: given_on.unwrap_or(today),
        expires_on,
    })
}

/// Records a consent of a client the caller works on (`consent_record`); audited.
pub async fn record(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    input: &ConsentInput,
) -> Result<Consent, ApiError> {
    let client = user.require_client(client_id, Action::ConsentRecord).await?;
    let today = state.clock.today();
    let new = validate_input(&state.db, input, today).await?;
    let mut conn = state.db.pool.acquire().await?;
    let consent = insert(&mut conn, &client.id, &new, Some(user.id()), state.clock.now()).await?;
    state
        .audit(
            user.event(actions::CONSENT_RECORD, Outcome::Success)
                .client(&client.code)
                .object(&consent.id)
                .reason(&new.scope),
        )
        .await?;
    Ok(consent)
}

/// Withdraws a consent (`consent_record`); audited. Withdrawing consent to processing
/// alerts the district's supervisors, who decide on erasure.
pub async fn withdraw(
    state: &AppState,
    user: &Authz,
    client_id: &str,
    consent_id: &str,
    input: &WithdrawInput,
) -> Result<Consent, ApiError> {
    let client = user.require_client(client_id, Action::ConsentRecord).await?;
    let today = state.clock.today();
    let Some(consent) = get(&state.db, &client.id, consent_id, today).await? else {
        return Err(ApiError::not_found());
    };
    if consent.withdrawn_on.is_some() {
        return Err(ApiError::new(axum::http::StatusCode::CONFLICT, "already_withdrawn"));
    }
    let mut errors = FieldErrors::new();
    let on = v::past_date(&mut errors, "on", input.on.as_deref(), today).unwrap_or(today);
    if on.to_string() < consent.given_on {
        errors.insert("on".into(), "field-cases-before_given");
    }
    v::finish(errors)?;
    let now = state.clock.now();
    let mut tx = state.db.pool.begin().await?;
    let n = sqlx::query(
        "UPDATE consents SET withdrawn_on = $1, withdrawn_by = $2 WHERE id = $3 AND client_id = $4 \
         AND withdrawn_on IS NULL",
    )
    .bind(on.to_string())
    .bind(user.id())
    .bind(consent_id)
    .bind(&client.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::new(axum::http::StatusCode::CONFLICT, "already_withdrawn"));
    }
    if consent.scope == DATA_PROCESSING {
        alerts::raise(
            &mut tx,
            &client.id,
            alerts::DATA_PROCESSING_WITHDRAWN,
            Some(user.id()),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state
        .audit(
            user.event(actions::CONSENT_WITHDRAW, Outcome::Success)
                .client(&client.code)
                .object(consent_id)
                .reason(&consent.scope),
        )
        .await?;
    get(&state.db, &client.id, consent_id, today)
        .await?
        .ok_or_else(ApiError::not_found)
}
