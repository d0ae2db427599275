//! Names of things that are data (areas, service categories, staff), for templates.

use std::collections::HashMap;

use super::error::PageError;
use crate::AppState;
use crate::areas::Area;
use crate::categories::Category;
use crate::web::Lang;

/// Area and category names, and staff display names, looked up once per page.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub lang: Lang,
    pub areas: Vec<Area>,
    pub categories: Vec<Category>,
    pub staff: HashMap<String, String>,
}

impl Names {
    pub async fn load(state: &AppState, lang: Lang) -> Result<Self, PageError> {
        let areas = state.areas.current().all().to_vec();
        let categories = crate::categories::list(&state.db).await?;
        Ok(Self {
            lang,
            areas,
            categories,
            staff: HashMap::new(),
        })
    }

    /// Adds the display names of staff accounts (never clients).
    pub async fn with_staff(mut self, state: &AppState) -> Result<Self, PageError> {
        self.staff = crate::auth::accounts::list(&state.db)
            .await?
            .into_iter()
            .map(|a| (a.id, a.display_name))
            .collect();
        Ok(self)
    }

    pub fn area(&self, code: &str) -> String {
        crate::areas::name_of(&self.areas, code)
    }

    pub fn category(&self, code: &str) -> String {
        self.categories
            .iter()
            .find(|c| c.code == code)
            .map_or_else(|| code.to_owned(), |c| c.name(self.lang).to_owned())
    }

    /// The active categories, for choosing.
    pub fn active_categories(&self) -> Vec<&Category> {
        self.categories.iter().filter(|c| c.active).collect()
    }

    pub fn cat_label<'a>(&self, c: &'a Category) -> &'a str {
        c.name(self.lang)
    }

    /// A staff member's display name; the id when unknown.
    pub fn staff(&self, id: &str) -> String {
        self.staff.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

    pub fn staff_opt(&self, id: &Option<String>) -> String {
        id.as_deref().map(|i| self.staff(i)).unwrap_or_default()
    }
}
