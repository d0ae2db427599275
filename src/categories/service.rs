//! Keeping the service categories: the admin's (`settings_manage`), audited.

use std::collections::BTreeMap;

use super::{Category, CategoryInput};
use crate::AppState;
use crate::audit::Outcome;
use crate::audit::actions;
use crate::authz::Authz;
use crate::error::Error;
use crate::policy::{Action, Resource};

/// Adds a category, or renames / reorders / deactivates the one with that code; says
/// whether it was added. 422 names every bad field.
pub async fn save(state: &AppState, user: &Authz, input: &CategoryInput) -> Result<(Category, bool), Error> {
    user.require(Action::SettingsManage, Resource::system()).await?;
    let input = validate(input)?;
    let mut tx = state.begin().await?;
    let (category, created) = super::store::save(&mut tx, &input).await?;
    let action = if created {
        actions::CATEGORY_CREATE
    } else {
        actions::CATEGORY_UPDATE
    };
    state
        .commit_audited(tx, &[user.event(action, Outcome::Success).object(&category.code)])
        .await?;
    Ok((category, created))
}

fn valid_code(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks an input; returns it trimmed, or the 422 naming each bad field.
fn validate(input: &CategoryInput) -> Result<CategoryInput, Error> {
    let mut fields = BTreeMap::new();
    let code = input.code.trim().to_owned();
    if !valid_code(&code) {
        fields.insert("code".to_owned(), "field-referrals-invalid_category_code");
    }
    let name_vi = input.name_vi.trim().to_owned();
    let name_en = input.name_en.trim().to_owned();
    for (field, name) in [("name_vi", &name_vi), ("name_en", &name_en)] {
        if name.is_empty() {
            fields.insert(field.to_owned(), "field-required");
        } else if name.chars().count() > 100 {
            fields.insert(field.to_owned(), "field-too_long");
        }
    }
    if input.sort.is_some_and(|s| !(0..=10_000).contains(&s)) {
        fields.insert("sort".to_owned(), "field-invalid");
    }
    if !fields.is_empty() {
        return Err(Error::Validation(fields));
    }
    Ok(CategoryInput {
        code,
        name_vi,
        name_en,
        sort: input.sort,
        active: input.active,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_lowercase_identifiers() {
        assert!(valid_code("legal_aid"));
        assert!(valid_code("housing2"));
        assert!(!valid_code("Legal"));
        assert!(!valid_code("2x"));
        assert!(!valid_code("a"));
        assert!(!valid_code("legal aid"));
        assert!(!valid_code("pháp_lý"));
    }
}
