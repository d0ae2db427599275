//! Column types both engines store differently or as text, decoded once here so a
//! model's `from_row` reads typed values: [`Flag`] (BOOLEAN in PostgreSQL, INTEGER 0/1
//! in SQLite), [`DbDate`] (`YYYY-MM-DD` text) and [`DbTime`] (RFC 3339 UTC text, as
//! [`super::timestamp`] writes it). A malformed stored value is a decode error, so it
//! surfaces as an internal error instead of a wrong answer.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::{AnyTypeInfo, AnyTypeInfoKind, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

/// A yes/no column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }
    fn compatible(ty: &AnyTypeInfo) -> bool {
        ty.kind == AnyTypeInfoKind::Bool || ty.kind.is_integer()
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        match <bool as Decode<Any>>::decode(value.clone()) {
            Ok(b) => Ok(Self(b)),
            Err(_) => Ok(Self(<i64 as Decode<Any>>::decode(value)? != 0)),
        }
    }
}

/// A calendar date column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DbDate(pub NaiveDate);

impl Type<Any> for DbDate {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

impl<'r> Decode<'r, Any> for DbDate {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<Any>>::decode(value)?;
        Ok(Self(NaiveDate::parse_from_str(&text, "%Y-%m-%d")?))
    }
}

impl<'q> Encode<'q, Any> for DbDate {
    fn encode_by_ref(&self, buf: &mut <Any as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <String as Encode<Any>>::encode(self.0.to_string(), buf)
    }
}

/// A point in time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DbTime(pub DateTime<Utc>);

impl Type<Any> for DbTime {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

impl<'r> Decode<'r, Any> for DbTime {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<Any>>::decode(value)?;
        Ok(Self(DateTime::parse_from_rfc3339(&text)?.with_timezone(&Utc)))
    }
}

impl<'q> Encode<'q, Any> for DbTime {
    fn encode_by_ref(&self, buf: &mut <Any as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <String as Encode<Any>>::encode(super::timestamp(self.0), buf)
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    async fn pool() -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn flags_dates_and_times_decode_from_their_stored_forms() {
        let pool = pool().await;
        let row = sqlx::query("SELECT 1 AS yes, 0 AS no, '2024-03-05' AS day, '2024-03-05T10:20:30Z' AS at")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(row.try_get::<Flag, _>("yes").unwrap(), Flag(true));
        assert_eq!(row.try_get::<Flag, _>("no").unwrap(), Flag(false));
        let day = row.try_get::<DbDate, _>("day").unwrap().0;
        assert_eq!(day, NaiveDate::from_ymd_opt(2024, 3, 5).unwrap());
        let at = row.try_get::<DbTime, _>("at").unwrap().0;
        assert_eq!(super::super::timestamp(at), "2024-03-05T10:20:30Z");
    }

    #[tokio::test]
    async fn a_malformed_stored_date_is_an_error_not_a_guess() {
        let pool = pool().await;
        let row = sqlx::query("SELECT '2024-02-30' AS bad, 'yesterday' AS worse, NULL AS none")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(row.try_get::<DbDate, _>("bad").is_err());
        assert!(row.try_get::<DbTime, _>("worse").is_err());
        assert_eq!(row.try_get::<Option<DbDate>, _>("none").unwrap(), None);
    }

    #[tokio::test]
    async fn dates_written_are_read_back() {
        let pool = pool().await;
        let day = DbDate(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
        let back: DbDate = sqlx::query_scalar("SELECT $1")
            .bind(day)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(back, day);
    }
}
