//! Vietnamese by default, English on request, from Fluent files in `locales/`.

use fluent_templates::{LanguageIdentifier, Loader, langid};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "vi",
    };
}

const VI: LanguageIdentifier = langid!("vi");
const EN: LanguageIdentifier = langid!("en");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// Picks the first of `vi` or `en` named in an `Accept-Language` header; `vi` otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(header) = header else { return Self::Vi };
        let mut ranked: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, tag) in ranked {
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            match primary.as_str() {
                "vi" => return Self::Vi,
                "en" => return Self::En,
                _ => {}
            }
        }
        Self::Vi
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Vi => "vi",
            Self::En => "en",
        }
    }

    /// The message for `id`; the id itself if no file defines it (caught by a test).
    pub fn t(self, id: &str) -> String {
        let lang = match self {
            Self::Vi => &VI,
            Self::En => &EN,
        };
        LOCALES.try_lookup(lang, id).unwrap_or_else(|| id.to_owned())
    }

    /// The message for `id` with the top-level fields of a JSON object as arguments:
    /// strings and numbers as they are, an array of strings as `$key` (joined with
    /// ", ") and `$key_count`. Used for error messages that name their `details`.
    pub fn t_args(self, id: &str, args: Option<&serde_json::Value>) -> String {
        use std::borrow::Cow;
        use std::collections::HashMap;

        use fluent_templates::fluent_bundle::FluentValue;

        let Some(object) = args.and_then(serde_json::Value::as_object) else {
            return self.t(id);
        };
        let mut values: HashMap<Cow<'static, str>, FluentValue> = HashMap::new();
        for (key, value) in object {
            match value {
                serde_json::Value::String(s) => {
                    values.insert(Cow::Owned(key.clone()), FluentValue::from(s.clone()));
                }
                serde_json::Value::Number(n) => {
                    if let Some(n) = n.as_f64() {
                        values.insert(Cow::Owned(key.clone()), FluentValue::from(n));
                    }
                }
                serde_json::Value::Array(items) => {
                    let list: Vec<&str> = items.iter().filter_map(serde_json::Value::as_str).collect();
                    values.insert(Cow::Owned(key.clone()), FluentValue::from(list.join(", ")));
                    values.insert(Cow::Owned(format!("{key}_count")), FluentValue::from(list.len()));
                }
                _ => {}
            }
        }
        let lang = match self {
            Self::Vi => &VI,
            Self::En => &EN,
        };
        LOCALES
            .try_lookup_with_args(lang, id, &values)
            // Fluent wraps placeables in Unicode isolation marks; plain text reads better.
            .map(|m| m.replace(['\u{2068}', '\u{2069}'], ""))
            .unwrap_or_else(|| id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_the_listed_order() {
        assert_eq!(Lang::from_accept_language(None), Lang::Vi);
        assert_eq!(Lang::from_accept_language(Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr, en;q=0.5, vi;q=0.8")), Lang::Vi);
        assert_eq!(Lang::from_accept_language(Some("de")), Lang::Vi);
    }

    /// Message ids of every `.ftl` file of one language (one file per feature).
    fn ids(lang: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(lang);
        let mut ids: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flat_map(|f| {
                let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
                text.lines()
                    .filter(|l| !l.starts_with(['#', ' ', '.']) && l.contains(" ="))
                    .map(|l| l.split(" =").next().unwrap().trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        ids.sort();
        ids
    }

    /// Every `$variable` the messages use, with a sample value, so that messages with
    /// placeables (formatted from an error's `details`) are checked too.
    fn sample_args() -> serde_json::Value {
        let mut args = serde_json::Map::new();
        for lang in ["vi", "en"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("locales")
                .join(lang);
            for file in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
                for piece in text.split('$').skip(1) {
                    let name: String = piece
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                        .collect();
                    if !name.is_empty() {
                        args.insert(name, serde_json::json!("x"));
                    }
                }
            }
        }
        serde_json::Value::Object(args)
    }

    #[test]
    fn every_message_exists_in_both_languages() {
        let vi = ids("vi");
        let en = ids("en");
        assert!(vi.len() > 10);
        assert_eq!(vi, en, "vi and en message ids differ");
        let args = sample_args();
        for id in &vi {
            assert_ne!(Lang::Vi.t_args(id, Some(&args)), *id, "{id} has no Vietnamese text");
            assert_ne!(Lang::En.t_args(id, Some(&args)), *id, "{id} has no English text");
        }
    }
}
