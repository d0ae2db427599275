//! A query whose filters are added only when they are set, with `$n` placeholders that
//! both engines take. `sqlx::QueryBuilder` writes `?` for the `Any` driver, which
//! PostgreSQL refuses; and the alternative, `($1 = '' OR col = $1)` for every optional
//! filter, keeps PostgreSQL from using an index on `col`.

use std::fmt::Write as _;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Encode, Type};

/// SQL text and its bound values, built in order.
#[derive(Default)]
pub struct Sql<'q> {
    text: String,
    args: AnyArguments<'q>,
    /// The first value that could not be bound; reported when the query runs.
    failed: Option<String>,
}

impl<'q> Sql<'q> {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            ..Self::default()
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        if let Err(e) = self.args.add(value) {
            self.failed.get_or_insert(e.to_string());
        }
        // Writing to a String cannot fail.
        let _ = write!(self.text, "${}", self.args.len());
        self
    }

    /// Appends placeholders bound to `values`, separated by commas (for `IN (…)`).
    pub fn bind_all<T, I>(&mut self, values: I) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
        I: IntoIterator<Item = T>,
    {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self
    }

    /// Appends `text` then a placeholder bound to `value` when `value` is set.
    pub fn filter<T>(&mut self, text: &str, value: Option<T>) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        if let Some(value) = value {
            self.push(text).bind(value);
        }
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Runs the query and returns every row.
    pub async fn fetch_all<'e, E>(self, executor: E) -> Result<Vec<AnyRow>, sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let (text, args) = self.into_parts()?;
        sqlx::query_with(&text, args).fetch_all(executor).await
    }

    /// Runs the query and returns its one row (a count, say).
    pub async fn fetch_one<'e, E>(self, executor: E) -> Result<AnyRow, sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let (text, args) = self.into_parts()?;
        sqlx::query_with(&text, args).fetch_one(executor).await
    }

    /// Runs a statement; returns the rows it changed.
    pub async fn execute<'e, E>(self, executor: E) -> Result<u64, sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = Any>,
    {
        let (text, args) = self.into_parts()?;
        Ok(sqlx::query_with(&text, args).execute(executor).await?.rows_affected())
    }

    /// How many values are bound so far (both engines cap a statement's parameters).
    pub fn bound(&self) -> usize {
        self.args.len()
    }

    fn into_parts(self) -> Result<(String, AnyArguments<'q>), sqlx::Error> {
        match self.failed {
            Some(e) => Err(sqlx::Error::Encode(e.into())),
            None => Ok((self.text, self.args)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_the_order_values_are_bound() {
        let mut sql = Sql::new("SELECT id FROM clients WHERE area = ");
        sql.bind("x")
            .filter(" AND status = ", None::<&str>)
            .filter(" AND code = ", Some("NA-1"))
            .push(" AND area IN (")
            .bind_all(["a", "b"])
            .push(") LIMIT ")
            .bind(5_i64);
        assert_eq!(
            sql.text(),
            "SELECT id FROM clients WHERE area = $1 AND code = $2 AND area IN ($3, $4) LIMIT $5"
        );
    }
}
