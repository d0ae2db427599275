//! The page client: the server-rendered pages as a browser without JavaScript sees them,
//! through forms with the session's CSRF token, never following a redirect.

use super::{PASSWORD, TestServer};

/// A page client (a browser without JavaScript): a cookie jar that does not follow redirects, so each answer is seen.
pub struct PageClient {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

pub fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the first hidden `csrf_token` field of a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\" value=\"")?;
    let rest = &html[at + "name=\"csrf_token\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl PageClient {
    pub fn new(server: &TestServer) -> Self {
        Self {
            http: browser_client(),
            base: format!("http://{}", server.addr),
            csrf: String::new(),
        }
    }

    /// Logs in through the login form; answers the redirect target.
    pub async fn login(server: &TestServer, username: &str) -> Self {
        let mut b = Self::new(server);
        let res = b
            .post_raw("/login", &[("username", username), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status(), 303, "login of {username}");
        let (status, html) = b.get("/account").await;
        assert_eq!(status, 200);
        b.csrf = csrf_in(&html).expect("a csrf token on the page");
        b
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(fields))
            .send()
            .await
            .unwrap()
    }

    /// A form post with the session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &self.csrf));
        self.post_raw(path, &all).await
    }
}

pub fn encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
