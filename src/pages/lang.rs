//! The language of a page: `?lang=vi|en` (remembered in the `lang` cookie), else the
//! cookie, else `Accept-Language`, else Vietnamese.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use crate::web::Lang;

pub const COOKIE: &str = "lang";

fn parse(code: &str) -> Option<Lang> {
    match code {
        "vi" => Some(Lang::Vi),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The language asked for in the query string, if any.
pub fn from_query(query: Option<&str>) -> Option<Lang> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| parse(&v))
}

/// The language remembered in the `lang` cookie, if any.
pub fn from_cookie(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .and_then(|(_, v)| parse(v.trim()))
}

/// The language of a request.
pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Lang {
    from_query(query).or_else(|| from_cookie(headers)).unwrap_or_else(|| {
        Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
    })
}

/// The language chosen for a request by the pages middleware.
#[derive(Debug, Clone, Copy)]
pub struct PageLang(pub Lang);

pub fn of_parts(parts: &Parts) -> Lang {
    if let Some(PageLang(lang)) = parts.extensions.get::<PageLang>() {
        return *lang;
    }
    negotiate(parts.uri.query(), &parts.headers)
}

/// The `Set-Cookie` value remembering a language for a year.
pub fn cookie(lang: Lang) -> HeaderValue {
    HeaderValue::from_static(match lang {
        Lang::Vi => "lang=vi; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        Lang::En => "lang=en; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_beats_cookie_beats_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(negotiate(None, &headers), Lang::Vi);
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en"));
        assert_eq!(negotiate(None, &headers), Lang::En);
        headers.insert(header::COOKIE, HeaderValue::from_static("other=1; lang=vi"));
        assert_eq!(negotiate(None, &headers), Lang::Vi);
        assert_eq!(negotiate(Some("a=b&lang=en"), &headers), Lang::En);
        assert_eq!(negotiate(Some("lang=fr"), &headers), Lang::Vi);
    }
}
